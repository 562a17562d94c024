import MonolithKernels

extension BPETokenizer {
    /// The byte-level BPE tokenizer a GGUF's metadata describes, encoding as llama.cpp does
    /// (`llama_tokenize` with `parse_special` on for ``encode(_:)``).
    ///
    /// - Normal tokens are byte-level text; control tokens are matched in text when special
    ///   tokens are parsed, user-defined tokens always; unknown and unused tokens never.
    /// - The merges rank pairs of normal tokens; Llama 3's pre-tokenizer also takes a piece that
    ///   is itself a token whole (`ignore_merges`).
    /// - `endOfText` is `tokenizer.ggml.eos_token_id`.
    /// - Parameter vocabularySize: the model's vocabulary size (`<arch>.vocab_size`, or the
    ///   embedding's rows), which the token count must equal; nil skips the check.
    /// - Throws: `TokenizerError` naming `vocabulary.source` and the field: an unsupported
    ///   `tokenizer.ggml.model` or `tokenizer.ggml.pre`, a count that differs from
    ///   `vocabularySize`, a token that is not byte-level text, a merge of unknown tokens, an id
    ///   out of range.
    public convenience init(gguf vocabulary: GGUFVocabulary, vocabularySize: Int?) throws {
        let v = vocabulary
        func fail(_ message: String) -> TokenizerError { TokenizerError(file: v.source, message) }
        guard v.model == "gpt2" else {
            throw fail("tokenizer.ggml.model = \(JSONString.quoted(v.model)) is not supported (Monolith reads \"gpt2\", byte-level BPE)")
        }
        let names = PreTokenizerKind.ggufNames.keys.sorted().joined(separator: ", ")
        guard let pre = v.pre else { throw fail("tokenizer.ggml.pre is missing (supported: \(names))") }
        guard let kind = PreTokenizerKind.ggufNames[pre] else {
            throw fail("tokenizer.ggml.pre = \(JSONString.quoted(pre)) is not supported (supported: \(names))")
        }
        if let expected = vocabularySize, expected != v.tokens.count {
            throw fail("tokenizer.ggml.tokens has \(v.tokens.count) tokens but the model's vocabulary size is \(expected)")
        }
        if let types = v.tokenTypes, types.count != v.tokens.count {
            throw fail("tokenizer.ggml.token_type has \(types.count) entries but tokenizer.ggml.tokens has \(v.tokens.count)")
        }
        for (field, id) in [("bos_token_id", v.bos), ("eos_token_id", v.eos), ("unknown_token_id", v.unknown),
                            ("padding_token_id", v.padding)] {
            if let id, id < 0 || Int(id) >= v.tokens.count {
                throw fail("tokenizer.ggml.\(field) = \(id) is outside the vocabulary (0..<\(v.tokens.count))")
            }
        }
        let addBOS = v.addBOS ?? kind.addsBOSByDefault, addEOS = v.addEOS ?? false
        if addBOS && v.bos == nil { throw fail("tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is missing") }
        if addEOS && v.eos == nil { throw fail("tokenizer.ggml.add_eos_token is true but tokenizer.ggml.eos_token_id is missing") }

        let parts = try Self.tokenBytes(v)
        let pairs = PairTable(capacity: v.merges.count)
        var mergeList: [(Int32, Int32)] = []
        mergeList.reserveCapacity(v.merges.count)
        for (rank, merge) in v.merges.enumerated() {
            // llama.cpp splits at the first space after the first byte, so a left part may be a space.
            let bytes = Array(merge.utf8)
            guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20), space + 1 < bytes.count else {
                throw fail("tokenizer.ggml.merges[\(rank)] = \(JSONString.quoted(merge)): expected \"left right\"")
            }
            let left = String(decoding: bytes[..<space], as: UTF8.self)
            let right = String(decoding: bytes[(space + 1)...], as: UTF8.self)
            func id(_ s: String) throws -> Int32 {
                guard let id = parts.normalID[s] else {
                    throw fail("tokenizer.ggml.merges[\(rank)] = \(JSONString.quoted(merge)): \(JSONString.quoted(s)) is not a normal token")
                }
                return id
            }
            let a = try id(left), b = try id(right), ab = try id(left + right)
            pairs.set(a, b, PairMerge(rank: UInt32(rank), token: ab))
            mergeList.append((a, b))
        }
        let model = try BPEModel(tokens: parts.bytes, pairs: pairs, specialTokens: parts.specials,
                                 wholeWordShortcut: kind.ignoresMerges, file: v.source, preTokenizer: kind,
                                 alwaysMatched: parts.userDefined, literalIDs: parts.literal, mergeList: mergeList,
                                 allowsMissingBytes: true)
        let roles = TokenRoles(beginning: v.bos, end: v.eos, unknown: v.unknown, padding: v.padding,
                               addsBeginning: addBOS, addsEnd: addEOS)
        self.init(model: model, source: v.source, roles: roles)
    }

    /// The bytes of every token by its type, the special ones, and the spelling → id of the normal ones.
    private static func tokenBytes(_ v: GGUFVocabulary) throws -> (bytes: [[UInt8]?], specials: [(String, Int32)],
                                                                  userDefined: [(String, Int32)], literal: Set<Int32>,
                                                                  normalID: [String: Int32]) {
        var bytes: [[UInt8]?] = []
        bytes.reserveCapacity(v.tokens.count)
        var specials: [(String, Int32)] = [], userDefined: [(String, Int32)] = []
        var literal = Set<Int32>()
        var normalID: [String: Int32] = [:]
        normalID.reserveCapacity(v.tokens.count)
        for (i, token) in v.tokens.enumerated() {
            let id = Int32(i)
            let raw = v.tokenTypes?[i] ?? GGUFTokenType.normal.rawValue
            guard let type = GGUFTokenType(rawValue: raw), type != .byte else {
                throw TokenizerError(file: v.source, "tokenizer.ggml.token_type[\(i)] = \(raw) is not supported for byte-level BPE (token \(JSONString.quoted(token)))")
            }
            switch type {
            case .normal, .undefined:
                guard let b = ByteLevel.decode(token), !b.isEmpty else {
                    throw TokenizerError(file: v.source, "tokenizer.ggml.tokens[\(i)] = \(JSONString.quoted(token)) is a normal token but not byte-level BPE text")
                }
                if let old = normalID[token] {
                    throw TokenizerError(file: v.source, "tokenizer.ggml.tokens[\(i)] = \(JSONString.quoted(token)) repeats token \(old)")
                }
                normalID[token] = id
                bytes.append(b)
            case .control, .userDefined:
                bytes.append(Array(token.utf8))
                if token.isEmpty { literal.insert(id); continue }
                specials.append((token, id))
                if type == .userDefined { userDefined.append((token, id)) }
            case .unknown, .unused, .byte:
                bytes.append(Array(token.utf8))
                literal.insert(id)
            }
        }
        return (bytes, specials, userDefined, literal, normalID)
    }
}
