import Foundation
import Testing
@testable import MonolithTokenizer

/// A tiny GGUF vocabulary built in code (the 256 byte tokens, a few merges, a control and a
/// user-defined token), so that GGUF tokenization is tested without any external file. The
/// expected ids are Hugging Face tokenizers' for the same vocabulary (`synthetic.json`).
@Suite struct SyntheticVocabularyTests {
    /// The merges of the vocabulary, as `synthetic()` in the fixture script lists them.
    static let merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "a n", "Ġa n", "Ġ Ġ", "ĠĠ Ġ", "1 2", "12 3", "Ġ 1",
                         "' s", "Ċ Ċ", "t h", "th e", "x y"]

    /// `<ctl>` (control), `<ud>` (user-defined), the byte tokens in byte order, each merge's
    /// result, and `xyz`, which no merge makes (only `ignore_merges` finds it).
    static func vocabulary(pre: String = "gpt-2") -> GGUFVocabulary {
        var tokens = ["<ctl>", "<ud>"] + (0..<256).map { ByteLevel.encode([UInt8($0)]) }
        for m in merges {
            let parts = m.split(separator: " ").map(String.init)
            if !tokens.contains(parts[0] + parts[1]) { tokens.append(parts[0] + parts[1]) }
        }
        tokens.append("xyz")
        let types: [Int32] = [GGUFTokenType.control.rawValue, GGUFTokenType.userDefined.rawValue]
            + [Int32](repeating: GGUFTokenType.normal.rawValue, count: tokens.count - 2)
        return GGUFVocabulary(source: "synthetic.gguf", model: "gpt2", pre: pre, tokens: tokens, tokenTypes: types,
                              merges: merges, bos: 0, eos: 0, addBOS: false)
    }

    static let fixture = GGUFFixtures.json("synthetic.json")

    @Test func vocabularyMatchesTheFixtureScript() throws {
        let f = try #require(Self.fixture, "Tests/Fixtures/gguf_tokenizer/synthetic.json is missing")
        let v = Self.vocabulary()
        #expect(f["tokens"]?.array?.map { $0.string! } == v.tokens)
        #expect(GGUFFixtures.ids(f["token_types"]) == v.tokenTypes)
        #expect(f["merges"]?.array?.map { $0.string! } == v.merges)
    }

    @Test(arguments: GGUFFixtures.kinds)
    func encodesAsHuggingFace(_ kind: String) throws {
        let cases = try #require(Self.fixture?["cases"]?.array)
        #expect(cases.count >= 8)
        let tok = try BPETokenizer(gguf: Self.vocabulary(pre: kind), vocabularySize: Self.vocabulary().tokens.count)
        for c in cases {
            let text = c["text"]!.string!
            #expect(tok.encode(text) == GGUFFixtures.ids(c["ids"]?[kind]), "\(kind): \(text.debugDescription)")
            #expect(tok.encode(text, addSpecial: true, parseSpecial: false) == GGUFFixtures.ids(c["ids_no_special"]?[kind]),
                    "\(kind), special tokens not parsed: \(text.debugDescription)")
            #expect(tok.decode(tok.encode(text)) == text)
        }
    }

    /// Errors name the file and the field, and the two numbers of a size mismatch.
    @Test func errorsNameTheField() {
        func message(_ change: (inout GGUFVocabulary) -> Void, size: Int? = nil) -> String {
            var v = Self.vocabulary()
            change(&v)
            do { _ = try BPETokenizer(gguf: v, vocabularySize: size); return "no error" } catch { return "\(error)" }
        }
        let n = Self.vocabulary().tokens.count
        #expect(message({ $0.model = "llama" }) == "synthetic.gguf: tokenizer.ggml.model = \"llama\" is not supported (Monolith reads \"gpt2\", byte-level BPE)")
        #expect(message({ $0.pre = "qwen2" }).hasPrefix("synthetic.gguf: tokenizer.ggml.pre = \"qwen2\" is not supported (supported: "))
        #expect(message({ $0.pre = "qwen2" }).contains("llama-bpe") && message({ $0.pre = nil }).contains("tokenizer.ggml.pre is missing"))
        #expect(message({ _ in }, size: n + 1) == "synthetic.gguf: tokenizer.ggml.tokens has \(n) tokens but the model's vocabulary size is \(n + 1)")
        #expect(message({ $0.tokenTypes!.removeLast() }) == "synthetic.gguf: tokenizer.ggml.token_type has \(n - 1) entries but tokenizer.ggml.tokens has \(n)")
        #expect(message({ $0.tokens[2] = "€" }) == "synthetic.gguf: tokenizer.ggml.tokens[2] = \"€\" is a normal token but not byte-level BPE text")
        #expect(message({ $0.tokenTypes![5] = 6 }).hasPrefix("synthetic.gguf: tokenizer.ggml.token_type[5] = 6 is not supported for byte-level BPE"))
        #expect(message({ $0.merges[3] = "i" }) == "synthetic.gguf: tokenizer.ggml.merges[3] = \"i\": expected \"left right\"")
        #expect(message({ $0.merges[3] = "i q" }) == "synthetic.gguf: tokenizer.ggml.merges[3] = \"i q\": \"iq\" is not a normal token")
        #expect(message({ $0.merges[3] = "<ctl> q" }) == "synthetic.gguf: tokenizer.ggml.merges[3] = \"<ctl> q\": \"<ctl>\" is not a normal token")
        #expect(message({ $0.eos = Int32(n) }) == "synthetic.gguf: tokenizer.ggml.eos_token_id = \(n) is outside the vocabulary (0..<\(n))")
        #expect(message({ $0.bos = nil; $0.addBOS = true }) == "synthetic.gguf: tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is missing")
        #expect(message({ $0.tokens[260] = $0.tokens[259] }) == "synthetic.gguf: tokenizer.ggml.tokens[260] = \"he\" repeats token 259")
        #expect(message({ _ in }, size: n) == "no error")
    }

    /// Control tokens are matched only when special tokens are parsed, user-defined ones always,
    /// and BOS/EOS are added only when asked for.
    @Test func specialTokenParsingAndMarkers() throws {
        var v = Self.vocabulary()
        v.addBOS = true
        v.addEOS = true
        v.bos = 0
        v.eos = 1
        let tok = try BPETokenizer(gguf: v, vocabularySize: nil)
        #expect(tok.encode("<ctl>") == [0] && tok.encode("<ud>") == [1])
        #expect(tok.encode("<ctl><ud>", addSpecial: false, parseSpecial: false).count > 2)
        #expect(tok.encode("<ctl><ud>", addSpecial: false, parseSpecial: false).last == 1)
        #expect(tok.encode("<ud>", addSpecial: true, parseSpecial: false) == [0, 1, 1])
        #expect(tok.encode("") == [] && tok.encode("", addSpecial: true) == [0, 1])
        #expect(tok.beginningOfText == 0 && tok.endOfText == 1 && tok.addsBOS && tok.addsEOS)
    }
}
