import MonolithKernels
import Testing
@testable import MonolithTokenizer

/// Encoding is identical to tiktoken's r50k_base in every file format.
@Suite struct EncodeTests {
    /// tiktoken's ids for one named case of `edge_cases.json` (scripts/make_tokenizer_fixtures.py).
    static func tiktoken(_ name: String) throws -> Fixtures.TextCase {
        try #require(Fixtures.edgeCases.first { $0.name == name }, "no edge case \(name)")
    }

    @Test func helloWorld() throws {
        let c = try Self.tiktoken("hello_world")
        #expect(c.text == "Hello world!" && c.ids.count == 3)
        for format in GPT2Format.allCases {
            #expect(format.tokenizer.encode(c.text) == c.ids, "\(format)")
        }
    }

    @Test func fixturesArePresent() {
        #expect(Fixtures.corpora.count >= 8)
        #expect(Fixtures.edgeCases.count >= 100)
    }

    @Test(arguments: Fixtures.corpora, GPT2Format.allCases)
    func corpusMatchesTiktoken(_ corpus: Fixtures.Corpus, _ format: GPT2Format) throws {
        let ids = format.tokenizer.encode(try corpus.text())
        let expected = corpus.expectedIDs()
        #expect(ids.count == expected.count)
        if ids != expected {
            let i = (0..<min(ids.count, expected.count)).first { ids[$0] != expected[$0] } ?? min(ids.count, expected.count)
            Issue.record("\(corpus.name) (\(format)): first difference at token \(i): \(ids[i..<min(ids.count, i + 5)]) vs \(expected[i..<min(expected.count, i + 5)])")
        }
    }

    @Test(arguments: Fixtures.edgeCases)
    func edgeCaseMatchesTiktoken(_ c: Fixtures.TextCase) {
        for format in GPT2Format.allCases {
            #expect(format.tokenizer.encode(c.text) == c.ids, "\(format)")
        }
    }

    /// The parallel path (cut at safe boundaries, chunks on several threads) equals the serial one,
    /// also on text full of non-ASCII, whitespace runs and special tokens, with many small chunks.
    @Test func parallelEqualsSerial() throws {
        let tok = GPT2Format.huggingFace.tokenizer
        var mixed = ""
        var i = 0
        while mixed.utf8.count < 400_000 {
            let c = Fixtures.edgeCases[i % Fixtures.edgeCases.count]
            mixed += c.text + ["\n", " ", "\n\n", "  ", "x\ny"][i % 5]
            i += 1
        }
        let texts = [mixed, try Fixtures.corpora[0].text()]
        let pool = WorkerPool(threads: 3)
        for text in texts {
            let serial = tok.encode(text, pool: .serial)
            let bounds = text.utf8.withContiguousStorageIfAvailable {
                ParallelEncoding.boundaries(tok.model, $0.baseAddress!, $0.count, parts: 100, minChunk: 1000)
            }!
            #expect(bounds.count > 50)
            let chunks = text.utf8.withContiguousStorageIfAvailable { b in
                ParallelEncoding.encode(tok.model, b.baseAddress!, b.count, workspaces: WorkspacePool(), pool: pool,
                                        parts: 100, minChunk: 1000)
            }!
            #expect(chunks == serial)
            #expect(tok.encode(text, pool: pool) == serial)
        }
    }

    /// `<|endoftext|>` in text is tiktoken's special token (the script encodes with
    /// `allowed_special="all"`), the last id of the vocabulary, in every format.
    @Test func specialTokens() throws {
        let alone = try Self.tiktoken("special_alone"), inside = try Self.tiktoken("special_inside")
        #expect(alone.text == "<|endoftext|>" && alone.ids.count == 1)
        let endOfText = alone.ids[0]
        #expect(inside.text == "a<|endoftext|>b" && inside.ids.filter { $0 == endOfText }.count == 1)
        let tok = GPT2Format.tiktoken.tokenizer
        #expect(tok.endOfText == endOfText)
        #expect(tok.vocabularySize == Int(endOfText) + 1)
        #expect(tok.encode(alone.text) == alone.ids)
        #expect(tok.encode(inside.text) == inside.ids)
        // Not special: a prefix of the special token is ordinary text.
        #expect(!tok.encode("<|endoftext").contains(endOfText))
        for format in GPT2Format.allCases { #expect(format.tokenizer.endOfText == endOfText, "\(format)") }
    }

    @Test func invalidUTF8BytesAreRejectedWithOffset() throws {
        let tok = GPT2Format.huggingFace.tokenizer
        let bytes: [UInt8] = Array("abc ".utf8) + [0xE2, 0x82] + Array(" def".utf8)
        #expect(throws: TokenizerError("invalid UTF-8 at byte offset 4")) {
            try bytes.withUnsafeBufferPointer { try tok.encode(utf8: $0) }
        }
        let hello = try Self.tiktoken("hello_world")
        let ok = try Array(hello.text.utf8).withUnsafeBufferPointer { try tok.encode(utf8: $0) }
        #expect(ok == hello.ids)
    }

    @Test func chestertonInvalidOffsetMatchesPython() throws {
        let c = try #require(Fixtures.corpora.first { $0.name == "chesterton_ball" })
        let raw = Array(Fixtures.bytes(Fixtures.sharedData + "/" + c.source).prefix(c.prefixBytes))
        #expect(UTF8Text.firstInvalidOffset(raw) == c.firstInvalidOffset)
        #expect(throws: TokenizerError(file: c.source, "invalid UTF-8 at byte offset \(c.firstInvalidOffset!)")) {
            try UTF8Text.decode(raw, file: c.source, replaceInvalid: false)
        }
    }
}
