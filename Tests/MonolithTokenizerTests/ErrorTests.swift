import Foundation
import Testing
@testable import MonolithTokenizer

/// Missing and corrupt tokenizer files fail with an error naming the file (and line).
@Suite struct ErrorTests {
    /// A directory holding `files` (name → content) plus, where not given, GPT-2's real files.
    static func directory(_ name: String, _ files: [String: [UInt8]]) -> String {
        let dir = Fixtures.temporaryDirectory(name)
        for (file, content) in files {
            _ = FileManager.default.createFile(atPath: dir + "/" + file, contents: Data(content))
        }
        return dir
    }

    static let vocab = Fixtures.bytes(Fixtures.gpt2 + "/vocab.json")
    static let merges = Fixtures.bytes(Fixtures.gpt2 + "/merges.txt")

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func missingDirectoryAndFiles() {
        #expect(message { try Tokenizer.load(directory: "/nonexistent/tok") } == "/nonexistent/tok: no such directory")
        let empty = ErrorTests.directory("empty", [:])
        #expect(message { try Tokenizer.load(directory: empty) }.hasPrefix("\(empty): no tokenizer files (looked for tokenizer.json"))
        let half = ErrorTests.directory("half", ["vocab.json": ErrorTests.vocab])
        #expect(message { try Tokenizer.load(directory: half) } == "\(half)/merges.txt: missing (vocab.json is present; both are needed)")
        #expect(message { try BPETokenizer.loadTiktoken("/nonexistent/r50k.tiktoken") } == "/nonexistent/r50k.tiktoken: no such file")
    }

    @Test func badMergesLine() {
        var lines = String(decoding: ErrorTests.merges, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        lines[2] = "Ġt"  // line 3: one token only
        let dir = ErrorTests.directory("badmerge", ["vocab.json": ErrorTests.vocab, "merges.txt": Array(lines.joined(separator: "\n").utf8)])
        #expect(message { try Tokenizer.load(directory: dir) }
                == "\(dir)/merges.txt:3: expected two tokens separated by one space, got \"Ġt\"")
        lines[2] = "Ġt zzzunknown"
        let dir2 = ErrorTests.directory("unknownmerge", ["vocab.json": ErrorTests.vocab, "merges.txt": Array(lines.joined(separator: "\n").utf8)])
        #expect(message { try Tokenizer.load(directory: dir2) }
                == "\(dir2)/merges.txt:3: token \"zzzunknown\" is not in the vocabulary")
    }

    @Test func corruptJSON() {
        let dir = ErrorTests.directory("badjson", ["vocab.json": Array("{\"a\": 0,\n \"b\": }".utf8), "merges.txt": []])
        #expect(message { try Tokenizer.load(directory: dir) } == "\(dir)/vocab.json:2: invalid JSON at column 7: expected a value")
        let truncated = ErrorTests.directory("truncated", ["tokenizer.json": Array(ErrorTests.vocab.prefix(1000))])
        #expect(message { try Tokenizer.load(directory: truncated) }.hasPrefix("\(truncated)/tokenizer.json:1: invalid JSON"))
    }

    @Test func unsupportedTokenizerJSON() {
        let wordPiece = ErrorTests.directory("wordpiece", ["tokenizer.json": Array(#"{"model": {"type": "WordPiece", "vocab": {}}}"#.utf8)])
        #expect(message { try Tokenizer.load(directory: wordPiece) }
                == "\(wordPiece)/tokenizer.json: model.type is \"WordPiece\"; only BPE is supported")
        let prefix = ErrorTests.directory("prefix", ["tokenizer.json": Array(#"""
            {"normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true},
             "model": {"type": "BPE", "vocab": {}, "merges": []}}
            """#.utf8)])
        #expect(message { try Tokenizer.load(directory: prefix) }
                == "\(prefix)/tokenizer.json: pre_tokenizer.add_prefix_space = bool(true) is not supported by Monolith's byte-level BPE")
    }

    @Test func vocabularyWithoutEveryByte() {
        let vocab = #"{"a": 0, "b": 1, "ab": 2}"#
        let dir = ErrorTests.directory("nobytes", ["vocab.json": Array(vocab.utf8), "merges.txt": Array("#version: 0.2\na b\n".utf8)])
        #expect(message { try Tokenizer.load(directory: dir) }
                == "\(dir)/vocab.json: the vocabulary has no token for the byte 0x0, so not every text can be encoded")
    }

    @Test func badTiktokenLines() {
        let good = Fixtures.bytes(Fixtures.gpt2 + "/r50k_base.tiktoken")
        var lines = String(decoding: good, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        lines[4] = "!!!notbase64 4"
        let dir = ErrorTests.directory("badbase64", ["r50k_base.tiktoken": Array(lines.joined(separator: "\n").utf8)])
        #expect(message { try Tokenizer.load(directory: dir) } == "\(dir)/r50k_base.tiktoken:5: the token is not valid base64")
        lines[4] = "IQ== four"
        let dir2 = ErrorTests.directory("badrank", ["r50k_base.tiktoken": Array(lines.joined(separator: "\n").utf8)])
        #expect(message { try Tokenizer.load(directory: dir2) } == "\(dir2)/r50k_base.tiktoken:5: expected \"<base64 token> <rank>\"")
    }
}
