extension BPETokenizer {
    /// This tokenizer as GGUF metadata (`tokenizer.ggml.*`, ``GGUFVocabulary/metadata``), so a
    /// GGUF file Monolith writes carries a vocabulary llama.cpp loads: byte-level spellings by id,
    /// merges as `"left right"` in rank order, control tokens typed 3 (user-defined 4), and the
    /// pre-tokenizer under llama.cpp's name.
    /// - Throws: as ``writeHuggingFace(to:modelMaxLength:chatTemplate:)`` (a tokenizer without a
    ///   merge list cannot be written).
    public func ggufVocabulary(chatTemplate: String? = nil) throws -> GGUFVocabulary {
        let spellings = try huggingFaceSpellings()
        let control = Set(model.specialTokens.map(\.1)), userDefined = Set(model.alwaysMatchedTokens.map(\.1))
        let types = (0..<model.size).map { id -> Int32 in
            userDefined.contains(Int32(id)) ? GGUFTokenType.userDefined.rawValue
                : control.contains(Int32(id)) ? GGUFTokenType.control.rawValue : GGUFTokenType.normal.rawValue
        }
        let pre: String
        switch preTokenizer {
        case .gpt2: pre = "gpt-2"
        case .digitsThenGPT2: pre = "smollm"
        case .llama3: pre = "llama-bpe"
        }
        return GGUFVocabulary(source: source, model: "gpt2", pre: pre, tokens: spellings, tokenTypes: types,
                              merges: model.mergeList.map { spellings[Int($0.0)] + " " + spellings[Int($0.1)] },
                              bos: roles.beginning ?? endOfText, eos: roles.end ?? endOfText, unknown: roles.unknown,
                              padding: roles.padding, addBOS: roles.addsBeginning, addEOS: roles.addsEnd, chatTemplate: chatTemplate)
    }
}
