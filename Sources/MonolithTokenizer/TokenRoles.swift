/// The tokens a tokenizer file gives a role (GGUF's `tokenizer.ggml.bos_token_id`, …;
/// Hugging Face's `bos_token`, …) and whether a prompt is wrapped in BOS and EOS.
public struct TokenRoles: Sendable, Equatable {
    /// The beginning-of-sequence id (BOS).
    public var beginning: Int32?
    /// The end-of-sequence id (EOS); generation stops at it.
    public var end: Int32?
    /// The id that stands for unknown text (byte-level BPE never produces it).
    public var unknown: Int32?
    /// The id used to pad batches.
    public var padding: Int32?
    /// Whether a prompt starts with `beginning` (llama.cpp's `add_bos`).
    public var addsBeginning: Bool
    /// Whether a prompt ends with `end` (llama.cpp's `add_eos`).
    public var addsEnd: Bool

    /// Roles as given; a flag without its id is a programming error the loaders rule out.
    public init(beginning: Int32? = nil, end: Int32? = nil, unknown: Int32? = nil, padding: Int32? = nil,
                addsBeginning: Bool = false, addsEnd: Bool = false) {
        self.beginning = beginning
        self.end = end
        self.unknown = unknown
        self.padding = padding
        self.addsBeginning = addsBeginning && beginning != nil
        self.addsEnd = addsEnd && end != nil
    }

    /// `ids` with BOS before and EOS after, where the roles add them.
    public func wrap(_ ids: [Int32]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(ids.count + 2)
        if addsBeginning, let b = beginning { out.append(b) }
        out += ids
        if addsEnd, let e = end { out.append(e) }
        return out
    }
}
