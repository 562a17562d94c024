import MonolithGGUF

extension GGUFVocabulary {
    /// The `tokenizer.ggml.*` metadata of a GGUF file (and its `tokenizer.chat_template`).
    public init(file: GGUFFile) throws {
        let m = file.metadata
        func id(_ key: String) -> Int32? { m[key]?.int.map { Int32($0) } }
        guard let model = m["tokenizer.ggml.model"]?.string else {
            throw GGUFError(file.path, "metadata has no tokenizer.ggml.model: the file carries no tokenizer")
        }
        self.init(source: file.path, model: model, pre: m["tokenizer.ggml.pre"]?.string,
                  tokens: try file.stringArray("tokenizer.ggml.tokens"),
                  tokenTypes: m["tokenizer.ggml.token_type"]?.intArray.map { $0.map { Int32($0) } },
                  merges: m["tokenizer.ggml.merges"]?.stringArray ?? [], bos: id("tokenizer.ggml.bos_token_id"),
                  eos: id("tokenizer.ggml.eos_token_id"), unknown: id("tokenizer.ggml.unknown_token_id"),
                  padding: id("tokenizer.ggml.padding_token_id"), addBOS: m["tokenizer.ggml.add_bos_token"]?.bool,
                  addEOS: m["tokenizer.ggml.add_eos_token"]?.bool, chatTemplate: m["tokenizer.chat_template"]?.string)
    }

    /// The metadata keys that describe this vocabulary in a GGUF file (what ``init(file:)`` reads).
    public var metadata: [(String, GGUFValue)] {
        var out: [(String, GGUFValue)] = [("tokenizer.ggml.model", .string(model))]
        if let pre { out.append(("tokenizer.ggml.pre", .string(pre))) }
        out.append(("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })))
        out.append(("tokenizer.ggml.token_type", .array(.int32, (tokenTypes ?? tokens.map { _ in 1 }).map { .int32($0) })))
        out.append(("tokenizer.ggml.merges", .array(.string, merges.map { .string($0) })))
        for (key, value) in [("bos_token_id", bos), ("eos_token_id", eos), ("unknown_token_id", unknown), ("padding_token_id", padding)] {
            if let value { out.append(("tokenizer.ggml." + key, .uint32(UInt32(value)))) }
        }
        if let addBOS { out.append(("tokenizer.ggml.add_bos_token", .bool(addBOS))) }
        if let addEOS { out.append(("tokenizer.ggml.add_eos_token", .bool(addEOS))) }
        if let chatTemplate { out.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return out
    }
}
