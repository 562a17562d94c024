import Foundation
import Testing
@testable import MonolithTokenizer

/// `Tokenizer.load(path:)`: one file or a directory, as `tokenizer.path` names them.
@Suite struct LoadPathTests {
    @Test func tiktokenFileEncodesAsGPT2() throws {
        // GPT-2's ranks as one file (`monolith train` caches Whisper's byte-identical gpt2.tiktoken).
        let tok = try Tokenizer.load(path: Fixtures.gpt2 + "/r50k_base.tiktoken")
        #expect(tok.vocabularySize == 50257 && tok.endOfText == 50256)
        for c in Fixtures.edgeCases { #expect(tok.encode(c.text) == c.ids, "\(c.name)") }
        #expect(tok.decode(tok.encode("Hello world<|endoftext|>")) == "Hello world<|endoftext|>")
    }

    @Test func directoryAsLoadDirectory() throws {
        let tok = try Tokenizer.load(path: Fixtures.gpt2)
        #expect(tok.encode("Hello world") == [15496, 995])
    }

    @Test func missingOrForeignFilesAreNamed() throws {
        #expect(throws: TokenizerError(file: "/no/such/tok", "no such file or directory")) { try Tokenizer.load(path: "/no/such/tok") }
        let dir = Fixtures.temporaryDirectory("load-path")
        try "x".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        #expect { try Tokenizer.load(path: dir + "/notes.txt") } throws: {
            "\($0)".hasPrefix(dir + "/notes.txt: not a tokenizer file")
        }
    }
}
