import Foundation
import Testing
@testable import MonolithTokenizer

/// The character-level tokenizer of nanoGPT's `shakespeare_char`.
@Suite struct CharTokenizerTests {
    static let shakespeare = String(decoding: Fixtures.bytes(Fixtures.sharedData + "/tinyshakespeare/input.txt"),
                                    as: UTF8.self)

    @Test func vocabularyIsNanoGPTs() {
        let tok = CharTokenizer(trainingText: CharTokenizerTests.shakespeare)
        #expect(tok.vocabularySize == 65)
        #expect(String(String.UnicodeScalarView(tok.characters))
                == "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        // nanoGPT's data/shakespeare_char/prepare.py prints this encoding.
        #expect(tok.encode("hii there") == [46, 47, 47, 1, 58, 46, 43, 56, 43])
        #expect(tok.decode(tok.encode(CharTokenizerTests.shakespeare)) == CharTokenizerTests.shakespeare)
        #expect(tok.endOfText == nil)
    }

    @Test func scalarsNotGraphemes() throws {
        let tok = CharTokenizer(trainingText: "e\u{301}b")
        #expect(tok.vocabularySize == 3)
        #expect(tok.encode("be\u{301}") == [0, 1, 2])  // b < e < U+0301
        #expect(throws: TokenizerError("character \"z\" (U+7A) at scalar offset 1 is not in the character vocabulary")) {
            try tok.encodeChecked("bz")
        }
        #expect(tok.decode([0, 7]) == "b\u{FFFD}")
    }

    @Test func saveAndLoad() throws {
        let dir = Fixtures.temporaryDirectory("char")
        let tok = CharTokenizer(trainingText: "hello\n\t\"world\" ✓ 😀")
        try tok.save(to: dir + "/" + CharTokenizer.fileName)
        let loaded = try Tokenizer.load(directory: dir)
        #expect((loaded as? CharTokenizer)?.characters == tok.characters)
        #expect(loaded.encode("hello world") == tok.encode("hello world"))
    }
}
