import Foundation
import MonolithKernels

extension BPETokenizer {
    /// Writes the tokenizer as Hugging Face files into `directory` (created if needed), so that
    /// `transformers.AutoTokenizer.from_pretrained(directory)` encodes as this tokenizer does:
    ///
    /// - `tokenizer.json`: the BPE model (vocabulary by id, merges in rank order as pairs,
    ///   `ignore_merges` for Llama 3), the pre-tokenizer of ``preTokenizer`` (see
    ///   ``PreTokenizerKind``), a `ByteLevel` decoder, the special tokens as `added_tokens`
    ///   (`"special": true`, except GGUF's user-defined tokens), and a `TemplateProcessing`
    ///   post-processor that adds BOS/EOS when ``roles`` says so;
    /// - `tokenizer_config.json`: `bos_token`, `eos_token`, `unk_token`, `pad_token`,
    ///   `add_bos_token`, `add_eos_token`, `chat_template`, `model_max_length` and
    ///   `"tokenizer_class": "PreTrainedTokenizerFast"`.
    ///
    /// `scripts/check_tokenizer_export.py` checks that transformers loads both and encodes the
    /// fixtures to the same ids.
    /// - Throws: `TokenizerError` naming the tokenizer's source when it has no merge list (one
    ///   loaded from tiktoken ranks: load `vocab.json` + `merges.txt` instead), or naming the file
    ///   that cannot be written.
    public func writeHuggingFace(to directory: String, modelMaxLength: Int, chatTemplate: String? = nil) throws {
        let spellings = try huggingFaceSpellings()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TokenizerError(file: directory, "cannot create the directory: \(error.localizedDescription)")
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try save(tokenizerJSON(spellings), to: path("tokenizer.json"))
        try save(tokenizerConfigJSON(spellings, modelMaxLength: modelMaxLength, chatTemplate: chatTemplate),
                 to: path("tokenizer_config.json"))
    }

    /// Each id's text in `tokenizer.json`: byte-level spelling for BPE tokens, the literal text
    /// for special and literal ones.
    func huggingFaceSpellings() throws -> [String] {
        let literal = Set(model.specialTokens.map(\.1)).union(model.literalIDs)
        var multiByte = false
        var out: [String] = []
        out.reserveCapacity(model.size)
        for id in 0..<model.size {
            let bytes = model.tokenBytes[model.tokenOffsets[id]..<model.tokenOffsets[id + 1]]
            if literal.contains(Int32(id)) {
                out.append(String(decoding: bytes, as: UTF8.self))
                continue
            }
            guard !bytes.isEmpty else {
                throw TokenizerError(file: source, "id \(id) has no token, which tokenizer.json cannot express")
            }
            multiByte = multiByte || bytes.count > 1
            out.append(ByteLevel.encode(bytes))
        }
        if multiByte && model.mergeList.isEmpty {
            throw TokenizerError(file: source, "the tokenizer has no merge list (tiktoken ranks); load vocab.json + merges.txt or tokenizer.json to export it")
        }
        return out
    }

    private func save(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw TokenizerError(file: path, "cannot be written")
        }
    }

    func tokenizerJSON(_ spellings: [String]) -> String {
        let notSpecial = Set(model.alwaysMatchedTokens.map(\.1))
        let added = model.specialTokens.sorted { $0.1 < $1.1 }.map { text, id in
            "    {\"id\": \(id), \"content\": \(JSONString.quoted(text)), \"single_word\": false, \"lstrip\": false, "
                + "\"rstrip\": false, \"normalized\": false, \"special\": \(!notSpecial.contains(id))}"
        }
        let vocab = spellings.enumerated().map { "      \(JSONString.quoted($1)): \($0)" }
        let merges = model.mergeList.map { "[\(JSONString.quoted(spellings[Int($0.0)])), \(JSONString.quoted(spellings[Int($0.1)]))]" }
        let decoder = "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true}"
        return """
            {
              "version": "1.0",
              "truncation": null,
              "padding": null,
              "added_tokens": [
            \(added.joined(separator: ",\n"))
              ],
              "normalizer": null,
              "pre_tokenizer": \(model.preTokenizer.huggingFaceJSON),
              "post_processor": \(postProcessorJSON(spellings)),
              "decoder": \(decoder),
              "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": null,
                "continuing_subword_prefix": null,
                "end_of_word_suffix": null,
                "fuse_unk": false,
                "byte_fallback": false,
                "ignore_merges": \(model.wholeWordShortcut),
                "vocab": {
            \(vocab.joined(separator: ",\n"))
                },
                "merges": [
                  \(merges.joined(separator: ",\n      "))
                ]
              }
            }

            """
    }

    /// `TemplateProcessing` with BOS and EOS where the roles add them (as transformers'
    /// `update_post_processor` builds it), or null.
    private func postProcessorJSON(_ spellings: [String]) -> String {
        var around: [(String, Int32)] = []
        if roles.addsBeginning, let b = roles.beginning { around.append((spellings[Int(b)], b)) }
        if roles.addsEnd, let e = roles.end { around.append((spellings[Int(e)], e)) }
        guard !around.isEmpty else { return "null" }
        func special(_ t: String, _ typeID: Int) -> String { "{\"SpecialToken\": {\"id\": \(JSONString.quoted(t)), \"type_id\": \(typeID)}}" }
        func sequence(_ s: String, _ typeID: Int) -> String { "{\"Sequence\": {\"id\": \"\(s)\", \"type_id\": \(typeID)}}" }
        func template(_ s: String, _ typeID: Int) -> [String] {
            var items: [String] = []
            if roles.addsBeginning, let b = roles.beginning { items.append(special(spellings[Int(b)], typeID)) }
            items.append(sequence(s, typeID))
            if roles.addsEnd, let e = roles.end { items.append(special(spellings[Int(e)], typeID)) }
            return items
        }
        let single = template("A", 0), pair = template("A", 0) + template("B", 1)
        let tokens = around.map { t, id in
            "\(JSONString.quoted(t)): {\"id\": \(JSONString.quoted(t)), \"ids\": [\(id)], \"tokens\": [\(JSONString.quoted(t))]}"
        }
        return "{\"type\": \"TemplateProcessing\", \"single\": [\(single.joined(separator: ", "))], "
            + "\"pair\": [\(pair.joined(separator: ", "))], \"special_tokens\": {\(tokens.joined(separator: ", "))}}"
    }

    func tokenizerConfigJSON(_ spellings: [String], modelMaxLength: Int, chatTemplate: String?) -> String {
        func token(_ id: Int32?) -> String { id.map { JSONString.quoted(spellings[Int($0)]) } ?? "null" }
        var lines = [
            "\"add_bos_token\": \(roles.addsBeginning)",
            "\"add_eos_token\": \(roles.addsEnd)",
            "\"bos_token\": \(token(roles.beginning))",
            "\"eos_token\": \(token(roles.end))",
            "\"unk_token\": \(token(roles.unknown))",
            "\"pad_token\": \(token(roles.padding))",
        ]
        if let chatTemplate { lines.append("\"chat_template\": \(JSONString.quoted(chatTemplate))") }
        lines += [
            "\"clean_up_tokenization_spaces\": false",
            "\"model_max_length\": \(modelMaxLength)",
            "\"tokenizer_class\": \"PreTrainedTokenizerFast\"",
        ]
        return "{\n  " + lines.joined(separator: ",\n  ") + "\n}\n"
    }
}
