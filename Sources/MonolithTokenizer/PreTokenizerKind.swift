import MonolithKernels

/// How a byte-level BPE tokenizer cuts text into pieces before merging: the patterns Monolith
/// implements, each as a hand-written scanner that equals its regular expression.
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (tiktoken's `r50k_base`, Hugging Face's `ByteLevel(use_regex: true)`).
    case gpt2
    /// Each number scalar alone, then GPT-2's pattern between them (SmolLM, StarCoder).
    case digitsThenGPT2
    /// Llama 3's pattern: case-insensitive contractions, letters with one leading non-letter,
    /// numbers in groups of up to three, newlines kept with the whitespace before them.
    case llama3

    /// The `tokenizer.ggml.pre` values of each kind that Monolith accepts. llama.cpp maps more
    /// names to the same patterns, but some of those change other settings too (a SEP token,
    /// BOS defaults), so only these are taken.
    public static let ggufNames: [String: PreTokenizerKind] = [
        "gpt-2": .gpt2, "gpt2": .gpt2,
        "smollm": .digitsThenGPT2, "starcoder": .digitsThenGPT2, "refact": .digitsThenGPT2,
        "llama-bpe": .llama3, "llama3": .llama3, "llama-v3": .llama3,
    ]

    /// Whether a piece that is itself a token encodes as that token without merging (Hugging
    /// Face's `ignore_merges`, llama.cpp's `ignore_merges`): set for Llama 3.
    var ignoresMerges: Bool { self == .llama3 }

    /// Whether llama.cpp adds BOS by default when the GGUF has no `tokenizer.ggml.add_bos_token`.
    var addsBOSByDefault: Bool { self == .llama3 }

    /// Llama 3's pattern as Hugging Face writes it in `tokenizer.json` (a `Split` pre-tokenizer).
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The `pre_tokenizer` object of a Hugging Face `tokenizer.json` that splits as this kind does.
    var huggingFaceJSON: String {
        func byteLevel(regex: Bool) -> String {
            "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": \(regex)}"
        }
        switch self {
        case .gpt2:
            return byteLevel(regex: true)
        case .digitsThenGPT2:
            return "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, \(byteLevel(regex: true))]}"
        case .llama3:
            let split = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \(JSONString.quoted(Self.llama3Pattern))}, \"behavior\": \"Isolated\", \"invert\": false}"
            return "{\"type\": \"Sequence\", \"pretokenizers\": [\(split), \(byteLevel(regex: false))]}"
        }
    }
}
