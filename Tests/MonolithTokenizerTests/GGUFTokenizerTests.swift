import Foundation
import MonolithKernels
import Testing
@testable import MonolithTokenizer

/// SmolLM2's tokenizer from its GGUF metadata encodes as the references of
/// `scripts/make_gguf_tokenizer_fixtures.py`: SmolLM2's own pipeline (and llama.cpp, where the
/// fixtures have its ids), and the same vocabulary under GPT-2's and Llama 3's pre-tokenizers.
@Suite(.enabled(if: GGUFFixtures.smolLM2 != nil, GGUFFixtures.smolLM2Missing))
struct GGUFTokenizerTests {
    @Test func fixturesArePresent() throws {
        #expect(GGUFFixtures.smolLM2Cases.count >= 400)
        // The pre-tokenizers differ on some texts, so each comparison below tests its own scanner.
        let differ = { (a: String, b: String) in GGUFFixtures.smolLM2Cases.filter { $0.ids[a] != $0.ids[b] }.count }
        #expect(differ("smollm", "gpt-2") > 0)
        #expect(differ("smollm", "llama-bpe") > 0)
        // Where the script found llama.cpp's llama-tokenize, it ran it on every text under each
        // pre-tokenizer (and without special-token parsing) and counted where it differs from the
        // references these tests use: nowhere, so the tests hold for llama.cpp's ids too.
        let differences = try #require(GGUFFixtures.json("smollm2_ids.json")?["differences"]?.members)
        for (key, count) in differences where key.hasPrefix("llama_cpp") { #expect(count == .int(0), "\(key)") }
    }

    @Test func metadata() throws {
        let (vocabulary, size) = try #require(GGUFFixtures.smolLM2)
        let tok = try GGUFFixtures.smolLM2Tokenizer(pre: "smollm")
        #expect(tok.vocabularySize == size)
        #expect(tok.preTokenizer == .digitsThenGPT2)
        #expect(tok.beginningOfText == vocabulary.bos && tok.endOfText == vocabulary.eos)
        #expect(tok.roles.unknown == vocabulary.unknown && tok.roles.padding == vocabulary.padding)
        #expect(tok.addsBOS == (vocabulary.addBOS ?? false) && !tok.addsEOS)
        #expect(tok.specialTokens["<|im_start|>"] == vocabulary.tokens.firstIndex(of: "<|im_start|>").map(Int32.init))
        // llama.cpp adds BOS for Llama 3 unless the file says otherwise.
        var llama = vocabulary
        llama.pre = "llama-bpe"
        llama.addBOS = nil
        let l3 = try BPETokenizer(gguf: llama, vocabularySize: size)
        #expect(l3.addsBOS && l3.encode("hi", addSpecial: true) == [vocabulary.bos!] + l3.encode("hi"))
        let generic: any TextTokenizer = l3
        #expect(generic.encodePrompt("hi") == [vocabulary.bos!] + l3.encode("hi"))
    }

    @Test(arguments: GGUFFixtures.smolLM2Cases)
    func matchesReferences(_ c: GGUFFixtures.Case) throws {
        for kind in GGUFFixtures.kinds {
            let tok = try GGUFFixtures.smolLM2Tokenizer(pre: kind)
            let expected = try #require(c.ids[kind])
            let ids = tok.encode(c.text)
            #expect(ids == expected, "pre=\(kind)")
            // Decoding gives the text back unless it holds bytes without a token (they are dropped).
            if !c.text.utf8.contains(where: { tok.model.byteToken[Int($0)] < 0 }) {
                #expect(tok.decode(ids) == c.text, "pre=\(kind): decode")
            }
        }
        if let noSpecial = c.idsNoSpecial {
            let smol = try GGUFFixtures.smolLM2Tokenizer(pre: "smollm")
            #expect(smol.encode(c.text, addSpecial: false, parseSpecial: false) == noSpecial, "parse_special off")
        }
    }

    /// The parallel path equals the serial one for every pre-tokenizer (its cut points must be
    /// safe for each pattern), with special tokens parsed or not.
    @Test(arguments: GGUFFixtures.kinds)
    func parallelEqualsSerial(_ kind: String) throws {
        let tok = try GGUFFixtures.smolLM2Tokenizer(pre: kind)
        var text = ""
        var i = 0
        let cases = GGUFFixtures.smolLM2Cases
        while text.utf8.count < 300_000 {
            text += cases[i % cases.count].text + ["\n", " ", "\n\n", "a b", "x\ny", ".\n1"][i % 6]
            i += 1
        }
        let pool = WorkerPool(threads: 3)
        for parseSpecial in [true, false] {
            let serial = tok.encode(text, addSpecial: false, parseSpecial: parseSpecial, pool: .serial)
            let chunks = text.utf8.withContiguousStorageIfAvailable { b in
                ParallelEncoding.encode(tok.model, b.baseAddress!, b.count, workspaces: WorkspacePool(), pool: pool,
                                        parts: 100, minChunk: 1000, parseSpecial: parseSpecial)
            }!
            #expect(chunks == serial, "parseSpecial \(parseSpecial)")
            #expect(tok.encode(text, addSpecial: false, parseSpecial: parseSpecial, pool: pool) == serial)
        }
    }

    @Test func vocabularySizeMismatchNamesBothNumbers() throws {
        let (vocabulary, size) = try #require(GGUFFixtures.smolLM2)
        #expect(throws: TokenizerError(file: vocabulary.source, "tokenizer.ggml.tokens has \(size) tokens but the model's vocabulary size is \(size + 64)")) {
            try BPETokenizer(gguf: vocabulary, vocabularySize: size + 64)
        }
    }
}
