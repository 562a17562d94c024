/// A tokenizer as a GGUF file's metadata describes it (llama.cpp's `tokenizer.ggml.*` keys), as
/// plain data: the GGUF reader fills it in, ``BPETokenizer/init(gguf:vocabularySize:)`` builds
/// the tokenizer, and ``ChatTemplate/detect(jinja:)`` reads `chatTemplate`.
///
/// ```swift
/// let vocabulary = GGUFVocabulary(source: "SmolLM2-135M-Instruct.Q4_1.gguf", model: "gpt2", pre: "smollm",
///                                 tokens: tokens, tokenTypes: types, merges: merges, bos: 1, eos: 2)
/// let tokenizer = try BPETokenizer(gguf: vocabulary, vocabularySize: 49152)
/// ```
public struct GGUFVocabulary: Sendable {
    /// The file the metadata came from, for errors.
    public var source: String
    /// `tokenizer.ggml.model`: `"gpt2"` (byte-level BPE) is supported.
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer's name (see ``PreTokenizerKind/ggufNames``).
    public var pre: String?
    /// `tokenizer.ggml.tokens`: each id's text; byte-level spelling (`Ġthe`) for normal tokens,
    /// the literal text for control and user-defined ones.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type` (see ``GGUFTokenType``); nil means every token is normal.
    public var tokenTypes: [Int32]?
    /// `tokenizer.ggml.merges`: `"left right"` in rank order.
    public var merges: [String]
    /// `tokenizer.ggml.bos_token_id`.
    public var bos: Int32?
    /// `tokenizer.ggml.eos_token_id`.
    public var eos: Int32?
    /// `tokenizer.ggml.unknown_token_id`.
    public var unknown: Int32?
    /// `tokenizer.ggml.padding_token_id`.
    public var padding: Int32?
    /// `tokenizer.ggml.add_bos_token`; nil when absent, and then llama.cpp's default for the
    /// pre-tokenizer applies (true for Llama 3, false otherwise).
    public var addBOS: Bool?
    /// `tokenizer.ggml.add_eos_token`; nil when absent (false).
    public var addEOS: Bool?
    /// `tokenizer.chat_template`: the Jinja text of the model's chat template.
    public var chatTemplate: String?

    /// The metadata as read from `source`.
    public init(source: String, model: String, pre: String?, tokens: [String], tokenTypes: [Int32]? = nil,
                merges: [String], bos: Int32? = nil, eos: Int32? = nil, unknown: Int32? = nil, padding: Int32? = nil,
                addBOS: Bool? = nil, addEOS: Bool? = nil, chatTemplate: String? = nil) {
        self.source = source
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bos = bos
        self.eos = eos
        self.unknown = unknown
        self.padding = padding
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.chatTemplate = chatTemplate
    }
}

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
public enum GGUFTokenType: Int32, Sendable {
    case undefined = 0
    /// An ordinary BPE token, spelled in the byte-level alphabet.
    case normal = 1
    case unknown = 2
    /// A special token such as `<|im_start|>`: matched in text only when special tokens are parsed.
    case control = 3
    /// An added token matched in text always (Hugging Face's non-special added tokens).
    case userDefined = 4
    case unused = 5
    /// A `<0xAB>` byte token of sentencepiece vocabularies; not used by byte-level BPE.
    case byte = 6
}
