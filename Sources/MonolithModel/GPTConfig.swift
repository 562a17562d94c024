/// An invalid configuration value, named by its field.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The offending field, in the config file's spelling (e.g. `n_embd`).
    public let field: String
    /// Why the value is rejected.
    public let message: String
    /// Creates an error for `field`.
    public init(field: String, _ message: String) { self.field = field; self.message = message }
    public var description: String { "invalid configuration: \(field): \(message)" }
}

/// The shape of a GPT-2 style decoder, with Hugging Face `GPT2Config` field names when encoded.
///
/// ```swift
/// var config = GPTConfig.preset("gpt2-124m")!
/// config.contextLength = 256
/// try config.validate()
/// ```
public struct GPTConfig: Codable, Sendable, Equatable {
    /// Number of transformer blocks (`n_layer`).
    public var nLayer: Int = 12
    /// Attention heads per block (`n_head`); must divide `nEmbd`.
    public var nHead: Int = 12
    /// Width of the residual stream (`n_embd`).
    public var nEmbd: Int = 768
    /// Vocabulary size (`vocab_size`); any positive value, not only multiples of 64.
    public var vocabSize: Int = 50257
    /// Maximum sequence length, the rows of the position embedding (`n_positions`).
    public var contextLength: Int = 1024
    /// LayerNorm epsilon (`layer_norm_epsilon`).
    public var layerNormEpsilon: Float = 1e-5
    /// Dropout probability on embeddings, residual branches and attention probabilities
    /// (`resid_pdrop`, `embd_pdrop`, `attn_pdrop` share one value here). 0 disables it.
    public var dropout: Float = 0
    /// Standard deviation of the normal initialization (`initializer_range`).
    public var initStd: Float = 0.02

    enum CodingKeys: String, CodingKey {
        case nLayer = "n_layer", nHead = "n_head", nEmbd = "n_embd", vocabSize = "vocab_size"
        case contextLength = "n_positions", layerNormEpsilon = "layer_norm_epsilon"
        case dropout = "resid_pdrop", initStd = "initializer_range"
    }

    /// Creates a configuration; every field has GPT-2 124M's default.
    public init(nLayer: Int = 12, nHead: Int = 12, nEmbd: Int = 768, vocabSize: Int = 50257,
                contextLength: Int = 1024, layerNormEpsilon: Float = 1e-5, dropout: Float = 0,
                initStd: Float = 0.02) {
        self.nLayer = nLayer; self.nHead = nHead; self.nEmbd = nEmbd; self.vocabSize = vocabSize
        self.contextLength = contextLength; self.layerNormEpsilon = layerNormEpsilon
        self.dropout = dropout; self.initStd = initStd
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GPTConfig()
        nLayer = try c.decodeIfPresent(Int.self, forKey: .nLayer) ?? d.nLayer
        nHead = try c.decodeIfPresent(Int.self, forKey: .nHead) ?? d.nHead
        nEmbd = try c.decodeIfPresent(Int.self, forKey: .nEmbd) ?? d.nEmbd
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? d.contextLength
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        initStd = try c.decodeIfPresent(Float.self, forKey: .initStd) ?? d.initStd
    }

    /// Width of one attention head.
    public var headDim: Int { nEmbd / nHead }

    /// Checks every field; the error names the first bad one.
    public func validate() throws {
        for (name, v) in [("n_layer", nLayer), ("n_head", nHead), ("n_embd", nEmbd),
                          ("vocab_size", vocabSize), ("n_positions", contextLength)] where v <= 0 {
            throw ConfigError(field: name, "must be positive, got \(v)")
        }
        if nEmbd % nHead != 0 {
            throw ConfigError(field: "n_embd", "\(nEmbd) is not divisible by n_head (\(nHead))")
        }
        if vocabSize > Int(Int32.max) { throw ConfigError(field: "vocab_size", "\(vocabSize) does not fit in int32 token ids") }
        if !(layerNormEpsilon > 0) { throw ConfigError(field: "layer_norm_epsilon", "must be positive, got \(layerNormEpsilon)") }
        if !(dropout >= 0 && dropout < 1) { throw ConfigError(field: "resid_pdrop", "must be in [0, 1), got \(dropout)") }
        if !(initStd > 0) { throw ConfigError(field: "initializer_range", "must be positive, got \(initStd)") }
    }

    /// Named model sizes: `gpt2-124m`, `gpt2-350m`, `gpt2-774m`, `gpt2-1558m`, and `tiny`
    /// (4 layers, 4 heads, 256 wide, GPT-2 vocabulary; the benchmark's small case).
    public static func preset(_ name: String) -> GPTConfig? {
        switch name {
        case "gpt2-124m", "gpt2": return GPTConfig()
        case "gpt2-350m", "gpt2-medium": return GPTConfig(nLayer: 24, nHead: 16, nEmbd: 1024)
        case "gpt2-774m", "gpt2-large": return GPTConfig(nLayer: 36, nHead: 20, nEmbd: 1280)
        case "gpt2-1558m", "gpt2-xl": return GPTConfig(nLayer: 48, nHead: 25, nEmbd: 1600)
        case "tiny": return GPTConfig(nLayer: 4, nHead: 4, nEmbd: 256)
        default: return nil
        }
    }

    /// Names accepted by ``preset(_:)``.
    public static let presetNames = ["gpt2-124m", "gpt2-350m", "gpt2-774m", "gpt2-1558m", "tiny"]

    /// Whether `other` has the same weights' shapes and math: everything but the training-only
    /// settings (dropout, initialization scale) agrees. Checkpoints and `init_from` weights load
    /// into any configuration this holds for.
    public func sameArchitecture(as other: GPTConfig) -> Bool {
        var a = self, b = other
        a.dropout = 0; b.dropout = 0; a.initStd = 0; b.initStd = 0
        return a == b
    }
}
