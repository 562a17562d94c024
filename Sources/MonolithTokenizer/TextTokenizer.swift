/// Anything that turns text into token ids and back. The data pipeline, trainer, perplexity and
/// generation code depend only on this.
public protocol TextTokenizer: Sendable {
    /// Number of ids the tokenizer can produce (special tokens included).
    var vocabularySize: Int { get }
    /// The end-of-document id (`<|endoftext|>` for GPT-2, the EOS of a GGUF), if the tokenizer has one.
    var endOfText: Int32? { get }
    /// The beginning-of-sequence id (BOS), if the tokenizer has one. Defaults to nil.
    var beginningOfText: Int32? { get }
    /// Whether a prompt should start with `beginningOfText` (llama.cpp's `add_bos`). Defaults to false.
    var addsBOS: Bool { get }
    /// Whether a prompt should end with `endOfText` (llama.cpp's `add_eos`). Defaults to false.
    var addsEOS: Bool { get }
    /// Token ids of `text`. Special tokens spelled in the text (e.g. `<|endoftext|>`) map to their ids.
    func encode(_ text: String) -> [Int32]
    /// The text of `ids`; byte sequences that are not valid UTF-8 decode to U+FFFD, as tiktoken's
    /// `decode(errors="replace")`.
    func decode(_ ids: [Int32]) -> String
}

extension TextTokenizer {
    public var beginningOfText: Int32? { nil }
    public var addsBOS: Bool { false }
    public var addsEOS: Bool { false }

    /// Token ids of a prompt: `encode(text)`, with BOS first and EOS last where the tokenizer adds
    /// them (llama.cpp's `add_special`). A chat template that writes BOS itself wants plain `encode`.
    public func encodePrompt(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        if addsBOS, let b = beginningOfText { ids.append(b) }
        ids += encode(text)
        if addsEOS, let e = endOfText { ids.append(e) }
        return ids
    }
}
