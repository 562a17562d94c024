import Testing
@testable import MonolithTokenizer

@Suite struct DecodeTests {
    @Test(arguments: Fixtures.corpora)
    func roundTrip(_ corpus: Fixtures.Corpus) throws {
        let text = try corpus.text()
        let tok = GPT2Format.openAI.tokenizer
        #expect(tok.decode(corpus.expectedIDs()) == text)
    }

    @Test func edgeCasesRoundTrip() {
        let tok = GPT2Format.tiktoken.tokenizer
        for c in Fixtures.edgeCases { #expect(tok.decode(c.ids) == c.text, "\(c.name)") }
    }

    /// Sequences ending mid-character, and random ids, decode as tiktoken's `decode(errors="replace")`.
    @Test func midCharacterAndRandomIDsMatchTiktoken() {
        #expect(Fixtures.decodeCases.count >= 200)
        for format in GPT2Format.allCases {
            for c in Fixtures.decodeCases {
                #expect(format.tokenizer.decode(c.ids) == c.text, "\(format) \(c.ids)")
            }
        }
    }

    @Test func cutEmojiDecodesToReplacementCharacter() {
        let tok = GPT2Format.huggingFace.tokenizer
        let ids = tok.encode("😀")
        #expect(ids.count > 1)
        #expect(tok.decode(Array(ids.dropLast())) == "\u{FFFD}")
        #expect(tok.decode(ids) == "😀")
    }

    @Test func unknownIDs() {
        let tok = GPT2Format.huggingFace.tokenizer
        #expect(tok.decode([15496, 99999]) == "Hello\u{FFFD}")
        #expect(throws: TokenizerError("token id 99999 at position 1 is outside the vocabulary (0..<50257)")) {
            try tok.decodeBytes([15496, 99999])
        }
        #expect(tok.bytes(ofToken: 995) == Array(" world".utf8))
        #expect(tok.id(ofTokenBytes: Array(" world".utf8)) == 995)
    }
}
