import MonolithKernels
import Foundation
import Testing
@testable import MonolithTokenizer

/// The Hugging Face export (`tokenizer.json` + `tokenizer_config.json`) reloads in Monolith to a
/// tokenizer that encodes the fixtures identically. `scripts/check_tokenizer_export.py` checks
/// that transformers does too, on the directories this suite writes under `$MONOLITH_EXPORT_DIR`.
@Suite struct HuggingFaceExportTests {
    /// Where the exports go: `$MONOLITH_EXPORT_DIR/<name>` (for the Python check), else a scratch directory.
    static func directory(_ name: String) -> String {
        if let root = ProcessInfo.processInfo.environment["MONOLITH_EXPORT_DIR"] {
            let path = root + "/" + name
            try? FileManager.default.removeItem(atPath: path)
            return path
        }
        return Fixtures.temporaryDirectory("export-" + name)
    }

    /// Exports `tok`, reloads it, and compares ids on `texts` (special tokens parsed and not).
    func roundTrip(_ tok: BPETokenizer, _ name: String, texts: [String], chatTemplate: String? = nil) throws -> JSONValue {
        let dir = Self.directory(name)
        try tok.writeHuggingFace(to: dir, modelMaxLength: 8192, chatTemplate: chatTemplate)
        let back = try BPETokenizer.loadTokenizerJSON(dir + "/tokenizer.json")
        #expect(back.vocabularySize == tok.vocabularySize && back.preTokenizer == tok.preTokenizer)
        for text in texts {
            #expect(back.encode(text) == tok.encode(text), "\(name): \(text.debugDescription)")
            #expect(back.encode(text, addSpecial: false, parseSpecial: false) == tok.encode(text, addSpecial: false, parseSpecial: false),
                    "\(name), special tokens not parsed: \(text.debugDescription)")
        }
        return try JSONValue.parse(Fixtures.bytes(dir + "/tokenizer_config.json"), file: "tokenizer_config.json")
    }

    @Test(arguments: GGUFFixtures.kinds)
    func synthetic(_ kind: String) throws {
        var v = SyntheticVocabularyTests.vocabulary(pre: kind)
        v.addBOS = true  // BOS and EOS are <ctl> (a user-defined BOS would become special in transformers)
        let tok = try BPETokenizer(gguf: v, vocabularySize: nil)
        let texts = (SyntheticVocabularyTests.fixture?["cases"]?.array ?? []).map { $0["text"]!.string! }
        #expect(!texts.isEmpty)
        let config = try roundTrip(tok, "synthetic-\(kind)", texts: texts, chatTemplate: "{{ messages }}")
        #expect(config["bos_token"] == .string("<ctl>") && config["eos_token"] == .string("<ctl>"))
        #expect(config["add_bos_token"] == .bool(true) && config["chat_template"] == .string("{{ messages }}"))
        #expect(config["tokenizer_class"] == .string("PreTrainedTokenizerFast") && config["model_max_length"] == .int(8192))
    }

    @Test(.enabled(if: GGUFFixtures.smolLM2 != nil, GGUFFixtures.smolLM2Missing), arguments: GGUFFixtures.kinds)
    func smolLM2(_ kind: String) throws {
        let tok = try GGUFFixtures.smolLM2Tokenizer(pre: kind)
        let texts = GGUFFixtures.smolLM2Cases.map(\.text)
        let config = try roundTrip(tok, "smollm2-\(kind)", texts: texts,
                                   chatTemplate: GGUFFixtures.smolLM2?.vocabulary.chatTemplate)
        #expect(config["bos_token"] == .string("<|im_start|>") && config["eos_token"] == .string("<|im_end|>"))
        #expect(config["unk_token"] == .string("<|endoftext|>") && config["pad_token"] == .string("<|im_end|>"))
    }

    /// GPT-2 as Monolith loads it from `vocab.json` + `merges.txt`; the tiktoken file has no merge
    /// list and is refused with a message saying what to load instead.
    @Test func gpt2() throws {
        let tok = GPT2Format.huggingFace.tokenizer
        let config = try roundTrip(tok, "gpt2", texts: Fixtures.edgeCases.map(\.text))
        #expect(config["eos_token"] == .string("<|endoftext|>") && config["add_bos_token"] == .bool(false))
        let tiktoken = GPT2Format.tiktoken.tokenizer
        #expect(throws: TokenizerError(file: tiktoken.source, "the tokenizer has no merge list (tiktoken ranks); load vocab.json + merges.txt or tokenizer.json to export it")) {
            try tiktoken.writeHuggingFace(to: Self.directory("gpt2-tiktoken"), modelMaxLength: 1024)
        }
    }
}
