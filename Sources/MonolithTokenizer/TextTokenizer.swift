/// Anything that turns text into token ids and back. The data pipeline, trainer, perplexity and
/// generation code depend only on this.
public protocol TextTokenizer: Sendable {
    /// Number of ids the tokenizer can produce (special tokens included).
    var vocabularySize: Int { get }
    /// The end-of-document id (`<|endoftext|>` for GPT-2), if the tokenizer has one.
    var endOfText: Int32? { get }
    /// Token ids of `text`. Special tokens spelled in the text (e.g. `<|endoftext|>`) map to their ids.
    func encode(_ text: String) -> [Int32]
    /// The text of `ids`; byte sequences that are not valid UTF-8 decode to U+FFFD, as tiktoken's
    /// `decode(errors="replace")`.
    func decode(_ ids: [Int32]) -> String
}
