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

/// The block family a model uses.
public enum ModelArchitecture: String, Codable, Sendable, CaseIterable {
    /// GPT-2: LayerNorm with bias, learned positions, tanh-GELU MLP, biases everywhere, tied `lm_head`.
    case gpt2
    /// Llama: RMSNorm, rotary positions ("rotate half"), SwiGLU MLP, grouped-query attention, no biases.
    case llama

    /// Decodes the raw name; anything else is an error listing the accepted ones.
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let v = Self(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected one of gpt2, llama; got \"\(raw)\""))
        }
        self = v
    }
}

/// The shape of a decoder: GPT-2 by default, or Llama (``ModelArchitecture``). Encoded with
/// Hugging Face `GPT2Config` field names, plus the Llama fields (`num_key_value_heads`,
/// `rope_theta`, `rms_norm_eps`, `intermediate_size`, `tie_word_embeddings`) for a Llama model.
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
    /// The block family (`architecture`).
    public var architecture = ModelArchitecture.gpt2
    /// Key/value heads for grouped-query attention (`num_key_value_heads`); must divide `nHead`.
    /// Equal to `nHead` is plain multi-head attention (GPT-2 always is).
    public var kvHeads: Int {
        get { isLlama ? llamaKVHeads : nHead }
        set { llamaKVHeads = newValue }
    }
    /// Base of the rotary frequencies (`rope_theta`; Llama only).
    public var ropeTheta: Float = 10000
    /// Hidden width of the MLP (`intermediate_size`): `4·n_embd` for GPT-2, SwiGLU's for Llama.
    public var intermediateSize: Int {
        get { isLlama ? llamaIntermediate : 4 * nEmbd }
        set { llamaIntermediate = newValue }
    }
    /// Stored Llama fields (GPT-2 derives them from `n_head` and `n_embd`).
    private var llamaKVHeads = 0, llamaIntermediate = 0
    /// Whether `lm_head` reuses the token embedding (`tie_word_embeddings`; always for GPT-2).
    public var tieWordEmbeddings = true

    enum CodingKeys: String, CodingKey {
        case nLayer = "n_layer", nHead = "n_head", nEmbd = "n_embd", vocabSize = "vocab_size"
        case contextLength = "n_positions", layerNormEpsilon = "layer_norm_epsilon"
        case dropout = "resid_pdrop", initStd = "initializer_range"
        case architecture, kvHeads = "num_key_value_heads", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
        case intermediateSize = "intermediate_size", tieWordEmbeddings = "tie_word_embeddings"
    }

    /// Creates a configuration; every field has GPT-2 124M's default.
    public init(nLayer: Int = 12, nHead: Int = 12, nEmbd: Int = 768, vocabSize: Int = 50257,
                contextLength: Int = 1024, layerNormEpsilon: Float = 1e-5, dropout: Float = 0,
                initStd: Float = 0.02) {
        self.nLayer = nLayer; self.nHead = nHead; self.nEmbd = nEmbd; self.vocabSize = vocabSize
        self.contextLength = contextLength; self.layerNormEpsilon = layerNormEpsilon
        self.dropout = dropout; self.initStd = initStd
    }

    /// A Llama-family shape (RMSNorm, rotary positions, SwiGLU, grouped-query attention, no biases).
    public static func llama(nLayer: Int, nHead: Int, kvHeads: Int, nEmbd: Int, intermediateSize: Int, vocabSize: Int,
                             contextLength: Int, rmsNormEps: Float = 1e-5, ropeTheta: Float = 10000,
                             tieWordEmbeddings: Bool = true, initStd: Float = 0.02) -> GPTConfig {
        var c = GPTConfig(nLayer: nLayer, nHead: nHead, nEmbd: nEmbd, vocabSize: vocabSize, contextLength: contextLength,
                          layerNormEpsilon: rmsNormEps, initStd: initStd)
        c.architecture = .llama; c.kvHeads = kvHeads; c.intermediateSize = intermediateSize; c.ropeTheta = ropeTheta
        c.tieWordEmbeddings = tieWordEmbeddings
        return c
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
        architecture = try c.decodeIfPresent(ModelArchitecture.self, forKey: .architecture) ?? .gpt2
        if isLlama {
            kvHeads = try c.decodeIfPresent(Int.self, forKey: .kvHeads) ?? nHead
            intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 4 * nEmbd
            ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? d.ropeTheta
            if let eps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) { layerNormEpsilon = eps }
            tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nLayer, forKey: .nLayer); try c.encode(nHead, forKey: .nHead); try c.encode(nEmbd, forKey: .nEmbd)
        try c.encode(vocabSize, forKey: .vocabSize); try c.encode(contextLength, forKey: .contextLength)
        try c.encode(dropout, forKey: .dropout); try c.encode(initStd, forKey: .initStd)
        if isLlama {
            try c.encode(architecture, forKey: .architecture); try c.encode(kvHeads, forKey: .kvHeads)
            try c.encode(ropeTheta, forKey: .ropeTheta); try c.encode(layerNormEpsilon, forKey: .rmsNormEps)
            try c.encode(intermediateSize, forKey: .intermediateSize); try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        } else {
            try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        }
    }

    /// Width of one attention head.
    public var headDim: Int { nEmbd / nHead }
    /// Whether this is a Llama-family model.
    public var isLlama: Bool { architecture == .llama }
    /// Width of the keys (and of the values) of one position: `kv_heads · head_dim`.
    public var kvWidth: Int { kvHeads * headDim }
    /// Columns of the fused query/key/value projection: `C + 2·kvWidth`.
    public var qkvWidth: Int { nEmbd + 2 * kvWidth }
    /// Columns of the MLP's first projection: `4C` for GPT-2, gate and up (`2·I`) for SwiGLU.
    public var fcWidth: Int { isLlama ? 2 * intermediateSize : intermediateSize }
    /// Whether the blocks and final norm have biases (GPT-2) or not (Llama).
    public var hasBiases: Bool { !isLlama }
    /// Whether there are learned position embeddings (GPT-2) or rotary ones (Llama).
    public var hasPositionEmbedding: Bool { !isLlama }
    /// Whether `lm_head` is the token embedding (GPT-2 always; Llama per `tie_word_embeddings`).
    public var tiedHead: Bool { !isLlama || tieWordEmbeddings }

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
        if isLlama {
            if kvHeads <= 0 || nHead % kvHeads != 0 {
                throw ConfigError(field: "num_key_value_heads", "\(kvHeads) does not divide num_attention_heads (\(nHead))")
            }
            if headDim % 2 != 0 { throw ConfigError(field: "n_embd", "head width \(headDim) must be even for rotary embeddings") }
            if intermediateSize <= 0 { throw ConfigError(field: "intermediate_size", "must be positive, got \(intermediateSize)") }
            if !(ropeTheta > 0) { throw ConfigError(field: "rope_theta", "must be positive, got \(ropeTheta)") }
        }
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
