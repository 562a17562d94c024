import Foundation
import MonolithTokenizer
import Testing
@testable import MonolithData

/// `monolith data preprocess` as a library: documents in, Megatron dataset out, every skip counted.
@Suite("Preprocess")
struct PreprocessTests {
    static func run(_ dir: TemporaryDirectory, _ inputs: [String], configure: (inout PreprocessConfig) -> Void = { _ in },
                    tokenizer: any TextTokenizer = ByteTokenizer()) throws -> (PreprocessSummary, IndexedDataset) {
        var config = PreprocessConfig(inputs: inputs, outputPrefix: dir.file("out"))
        config.progress = false
        configure(&config)
        let summary = try Preprocessor.run(config, tokenizer: tokenizer)
        return (summary, try IndexedDataset(prefix: dir.file("out")))
    }

    @Test("JSONL: good lines are written in order; bad lines are skipped, counted and located")
    func jsonlWithBadLines() throws {
        let dir = TemporaryDirectory()
        let lines = [
            #"{"text": "first", "id": 1}"#,
            #"{"text": "second \"quoted\" \u00e9\ud83d\ude00"}"#,
            #"{"text": "truncated"#,
            "",
            #"{"id": 3}"#,
            #"{"text": 42}"#,
            #"{"text": "   "}"#,
            #"{"text": "third"}"#,
        ]
        let input = dir.write("a.jsonl", lines.joined(separator: "\n") + "\n")
        let (summary, ds) = try Self.run(dir, [input]) { $0.appendEOD = true }
        #expect(summary.documentsIn == 8)
        #expect(summary.documentsOut == 3)
        #expect(summary.skipped == ["malformed JSON": 1, "empty document": 2, "missing text field": 2])
        #expect(ds.documentCount == 3)
        let decoded = (0..<3).map { ByteTokenizer().decode(ds.tokens(document: $0)) }
        #expect(decoded == ["first", "second \"quoted\" é😀", "third"])
        #expect((0..<3).allSatisfy { ds.tokens(document: $0).last == 256 }, "--append-eod")
        #expect(summary.tokens == Int64(ds.tokenCount))
    }

    @Test("issues name the file, line and byte offset")
    func issueLocations() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("b.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"bad\" junk}\n")
        let decoder = DocumentDecoder(paths: [input])
        var outcomes: [DocumentDecoder.Outcome] = []
        try DocumentReader.read(files: [input], splitLines: false) { batch in
            outcomes += batch.map(decoder.decode); return true
        }
        guard case let .skip(issue) = outcomes[1] else { Issue.record("line 2 was accepted"); return }
        #expect(issue.line == 2)
        #expect(issue.byteOffset == 15 + 15)   // line 2 starts at byte 15; "junk" at column 15
        #expect(issue.description.hasPrefix("\(input):2 (byte 30): malformed JSON"))
    }

    @Test("the Latin-1 bytes of chesterton-ball.txt are reported at their byte offset")
    func realInvalidUTF8() throws {
        let path = Paths.shared + "/gutenberg/chesterton-ball.txt"
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let firstBad = bytes.firstIndex { $0 >= 0x80 }!
        let dir = TemporaryDirectory()
        let (whole, _) = try Self.run(dir, [path, Paths.shared + "/gutenberg/blake-poems.txt"])
        #expect(whole.documentsIn == 2 && whole.documentsOut == 1 && whole.skipped == ["invalid UTF-8": 1])
        // Line by line only the offending lines go, and the first one is located exactly.
        var first: InputIssue?
        let decoder = DocumentDecoder(paths: [path])
        try DocumentReader.read(files: [path], splitLines: true) { batch in
            for doc in batch { if case let .skip(issue) = decoder.decode(doc), issue.kind == .invalidUTF8, first == nil { first = issue } }
            return true
        }
        #expect(first?.byteOffset == firstBad)
        #expect(first?.line == bytes[..<firstBad].filter { $0 == 0x0A }.count + 1)
        let (lines, _) = try Self.run(TemporaryDirectory(), [path]) { $0.splitLines = true }
        let badLines = Set(bytes.indices.filter { bytes[$0] >= 0x80 }.map { i in bytes[..<i].filter { $0 == 0x0A }.count })
        #expect(lines.skipped["invalid UTF-8"] == badLines.count)
        let (repaired, ds) = try Self.run(TemporaryDirectory(), [path]) { $0.repairUTF8 = true }
        #expect(repaired.repaired == 1 && repaired.documentsOut == 1)
        #expect(ByteTokenizer().decode(ds.tokens(document: 0)).contains("\u{FFFD}"))
    }

    @Test("--strict rejects the first bad document and leaves no output files")
    func strict() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("c.jsonl", "{\"text\": \"fine\"}\n{\"text\": \n")
        do {
            _ = try Self.run(dir, [input]) { $0.strict = true }
            Issue.record("strict run succeeded")
        } catch let error as DataError {
            #expect("\(error)".contains("c.jsonl:line 2"))
            #expect("\(error)".contains("rejected by --strict"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.bin")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.idx")))
    }

    @Test("the output does not depend on the worker count or batch size", arguments: [1, 3])
    func workerInvariance(workers: Int) throws {
        let input = Paths.shared + "/tinyshakespeare/input.txt"
        let reference = TemporaryDirectory()
        _ = try Self.run(reference, [input]) { $0.splitLines = true; $0.workers = 2; $0.appendEOD = true }
        let dir = TemporaryDirectory()
        _ = try Self.run(dir, [input]) { $0.splitLines = true; $0.workers = workers; $0.batchBytes = 10_000; $0.appendEOD = true }
        for ext in [".bin", ".idx"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("out" + ext)))
                    == Data(contentsOf: URL(fileURLWithPath: reference.file("out" + ext))))
        }
    }

    @Test("text files: one document per file, or per line; int32 for a large vocabulary")
    func textInputs() throws {
        let dir = TemporaryDirectory()
        let a = dir.write("a.txt", "line one\nline two\r\n\nline four")
        let b = dir.write("b.txt", "other file")
        let (perFile, ds) = try Self.run(dir, [a, b])
        #expect(perFile.documentsOut == 2 && ds.dtype == .uint16)
        #expect(ByteTokenizer().decode(ds.tokens(document: 0)) == "line one\nline two\r\n\nline four")
        let (perLine, lines) = try Self.run(TemporaryDirectory(), [a, b]) { $0.splitLines = true }
        #expect(perLine.documentsIn == 5 && perLine.documentsOut == 4 && perLine.skipped == ["empty document": 1])
        #expect((0..<4).map { ByteTokenizer().decode(lines.tokens(document: $0)) } == ["line one", "line two", "line four", "other file"])
        let (_, wide) = try Self.run(TemporaryDirectory(), [b], tokenizer: WideByteTokenizer())
        #expect(wide.dtype == .int32 && wide.tokens(document: 0).first == 70_000 + 111)
    }

    @Test("bad configurations are refused before anything is written")
    func validation() {
        let bad: [(inout PreprocessConfig) -> Void] = [{ $0.inputs = [] }, { $0.outputPrefix = "x.bin" }, { $0.workers = 0 }, { $0.jsonKey = "" }]
        for change in bad {
            var c = PreprocessConfig(inputs: ["a"], outputPrefix: "o")
            change(&c)
            #expect(throws: DataError.self) { try c.validate() }
        }
        let missing = TemporaryDirectory()
        #expect(throws: DataError.self) { try Self.run(missing, [missing.file("nope.jsonl")]) }
    }
}
