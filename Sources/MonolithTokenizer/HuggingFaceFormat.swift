import MonolithKernels

extension BPETokenizer {
    /// Loads a Hugging Face `tokenizer.json` whose model is BPE over GPT-2's byte-level alphabet,
    /// with one of the pre-tokenizers of ``PreTokenizerKind`` as ``writeHuggingFace(to:modelMaxLength:chatTemplate:)``
    /// writes them: `ByteLevel` with GPT-2's pattern and no prefix space (alone or the only member
    /// of a `Sequence`), `Digits(individual_digits)` then that, or Llama 3's `Split` then
    /// `ByteLevel(use_regex: false)`.
    ///
    /// Every entry of `added_tokens` is matched in text and maps to its id, as Hugging Face's
    /// encoder does; those with `"special": false` also when special tokens are not parsed. Options that change encoding and are not supported (a normalizer, dropout,
    /// subword prefixes or suffixes, byte fallback, a prefix space) are refused with an error
    /// naming the field, rather than silently encoding differently. `ignore_merges` is honoured.
    public static func loadTokenizerJSON(_ path: String) throws -> BPETokenizer {
        let root = try JSONValue.parse(VocabularyFiles.read(path), file: path)
        guard root.members != nil else { throw TokenizerError(file: path, "expected a JSON object") }
        guard let model = root["model"], model.members != nil else {
            throw TokenizerError(file: path, "no \"model\" object")
        }
        if let type = model["type"]?.string, type != "BPE" {
            throw TokenizerError(file: path, "model.type is \"\(type)\"; only BPE is supported")
        }
        let preTokenizer = try checkUnsupported(root, model: model, path: path)

        guard let vocabValue = model["vocab"] else { throw TokenizerError(file: path, "model.vocab is missing") }
        let vocabulary = try VocabularyFiles.vocabulary(vocabValue, file: path, field: "model.vocab")
        guard let mergeValues = model["merges"]?.array else {
            throw TokenizerError(file: path, "model.merges is missing or not an array")
        }
        var merges: [(left: String, right: String, line: Int)] = []
        merges.reserveCapacity(mergeValues.count)
        for (i, m) in mergeValues.enumerated() {
            if let s = m.string {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw TokenizerError(file: path, "model.merges[\(i)]: expected \"left right\", got \(JSONString.quoted(s))")
                }
                merges.append((String(parts[0]), String(parts[1]), i))
            } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                merges.append((a, b, i))
            } else {
                throw TokenizerError(file: path, "model.merges[\(i)]: expected \"left right\" or [\"left\", \"right\"]")
            }
        }
        var added: [(String, Int32)] = []
        var notSpecial: [(String, Int32)] = []
        for (i, t) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let content = t["content"]?.string, let id = t["id"]?.int, id >= 0 else {
                throw TokenizerError(file: path, "added_tokens[\(i)]: expected \"id\" and \"content\"")
            }
            added.append((content, Int32(id)))
            if t["special"]?.bool == false { notSpecial.append((content, Int32(id))) }
        }
        let built = try VocabularyFiles.model(
            vocabulary: vocabulary, vocabularyFile: path, merges: merges, mergesFile: path,
            lineNumbers: false, addedTokens: added, wholeWordShortcut: model["ignore_merges"]?.bool ?? false,
            preTokenizer: preTokenizer, alwaysMatched: notSpecial, allowsMissingBytes: true)
        return BPETokenizer(model: built, source: path)
    }

    /// Refuses what would change the encoding and is not implemented; returns the pre-tokenizer.
    private static func checkUnsupported(_ root: JSONValue, model: JSONValue, path: String) throws -> PreTokenizerKind {
        func refuse(_ field: String, _ value: JSONValue) -> TokenizerError {
            TokenizerError(file: path, "\(field) = \(value) is not supported by Monolith's byte-level BPE")
        }
        if let n = root["normalizer"], !n.isNull { throw refuse("normalizer", n) }
        if let d = model["dropout"], !d.isNull, d != .int(0) { throw refuse("model.dropout", d) }
        for field in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[field], !v.isNull, v != .string("") { throw refuse("model.\(field)", v) }
        }
        if let v = model["byte_fallback"], v == .bool(true) { throw refuse("model.byte_fallback", v) }
        guard let pre = root["pre_tokenizer"], !pre.isNull else {
            throw TokenizerError(file: path, "pre_tokenizer is null; a ByteLevel pre-tokenizer is required")
        }
        // ByteLevel alone or last in a Sequence, after nothing, Digits or Llama 3's Split.
        var list = [pre]
        if pre["type"]?.string == "Sequence", let members = pre["pretokenizers"]?.array, !members.isEmpty { list = members }
        let level = list[list.count - 1]
        let shape = list.map { $0["type"]?.string ?? "?" }.joined(separator: ", ")
        let unsupported = TokenizerError(file: path, "pre_tokenizer [\(shape)] is not supported; expected ByteLevel, alone or after Digits(individual_digits) or Llama 3's Split")
        guard level["type"]?.string == "ByteLevel", list.count <= 2 else { throw unsupported }
        if let v = level["add_prefix_space"], v == .bool(true) { throw refuse("pre_tokenizer.add_prefix_space", v) }
        let usesRegex = level["use_regex"] != .bool(false)
        guard list.count == 2 else {
            if !usesRegex { throw refuse("pre_tokenizer.use_regex", .bool(false)) }
            return .gpt2
        }
        let first = list[0]
        if first["type"]?.string == "Digits", first["individual_digits"] == .bool(true), usesRegex {
            return .digitsThenGPT2
        }
        if first["type"]?.string == "Split", first["pattern"]?["Regex"]?.string == PreTokenizerKind.llama3Pattern,
           first["behavior"]?.string == "Isolated", first["invert"] != .bool(true), !usesRegex {
            return .llama3
        }
        throw unsupported
    }
}
