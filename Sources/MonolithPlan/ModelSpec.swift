import Foundation

/// The architecture of a GPT-style decoder-only transformer, as the planner sees it.
///
/// The planner only needs the shapes that set FLOPs, parameter count and activation size. The
/// feed-forward width is fixed at 4·hidden, as in GPT-2, GPT-3, MT-NLG and every model of
/// Narayanan et al. 2021; the formulas below (theirs and Korthikanti et al. 2022's) assume it.
///
/// ```swift
/// let model = try ModelSpec.preset(named: "mt-nlg-530b")
/// model.parameterCount(tensorParallel: 8)   // 529.6 billion, with the vocabulary padded to 51,200
/// ```
public struct ModelSpec: Codable, Equatable, Sendable {
    /// Preset name, or a free label for a model read from JSON.
    public var name: String
    /// Number of transformer layers, `l`.
    public var layers: Int
    /// Hidden size, `h`.
    public var hidden: Int
    /// Number of attention heads, `a`.
    public var heads: Int
    /// Vocabulary size `V` before padding.
    public var vocabulary: Int
    /// Number of learned position embeddings (the longest sequence the model accepts).
    public var contextLength: Int
    /// The vocabulary is padded up to a multiple of this times the tensor-parallel size, as Megatron's
    /// `--make-vocab-size-divisible-by` does; 1 means no padding (GPT-2 as published and as Monolith runs it).
    public var vocabularyMultiple: Int
    /// Sequences per optimizer step in the published run, used when no `--global-batch` is given.
    public var publishedGlobalBatch: Int?

    /// A model from its shapes; `vocabularyMultiple` defaults to Megatron's 128.
    public init(name: String, layers: Int, hidden: Int, heads: Int, vocabulary: Int,
                contextLength: Int, vocabularyMultiple: Int = 128, publishedGlobalBatch: Int? = nil) {
        self.name = name
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.vocabulary = vocabulary
        self.contextLength = contextLength
        self.vocabularyMultiple = vocabularyMultiple
        self.publishedGlobalBatch = publishedGlobalBatch
    }

    // Hand-written so that a JSON config may leave out the optional fields.
    /// Decodes a model config; `name`, `vocabularyMultiple` and `publishedGlobalBatch` may be left out.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "custom"
        layers = try c.decode(Int.self, forKey: .layers)
        hidden = try c.decode(Int.self, forKey: .hidden)
        heads = try c.decode(Int.self, forKey: .heads)
        vocabulary = try c.decode(Int.self, forKey: .vocabulary)
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        vocabularyMultiple = try c.decodeIfPresent(Int.self, forKey: .vocabularyMultiple) ?? 128
        publishedGlobalBatch = try c.decodeIfPresent(Int.self, forKey: .publishedGlobalBatch)
    }

    /// Checks that the shapes are positive and the hidden size splits evenly into heads.
    public func validate() throws(PlanError) {
        for (field, value) in [("layers", layers), ("hidden", hidden), ("heads", heads),
                               ("vocabulary", vocabulary), ("contextLength", contextLength),
                               ("vocabularyMultiple", vocabularyMultiple)] where value < 1 {
            throw .invalidModel("\(field) must be at least 1, got \(value)")
        }
        if hidden % heads != 0 {
            throw .invalidModel("hidden % heads == 0 is violated: hidden \(hidden) is not divisible by \(heads) heads")
        }
    }

    /// The vocabulary after padding for a tensor-parallel degree `t`: the embedding is split in `t`
    /// row blocks, and Megatron rounds each block up to a multiple of `vocabularyMultiple`.
    public func paddedVocabulary(tensorParallel t: Int) -> Int {
        let unit = vocabularyMultiple * max(t, 1)
        return (vocabulary + unit - 1) / unit * unit
    }

    /// Parameters of one transformer layer: 12h² for the four attention and two MLP weight matrices,
    /// 13h for their biases and the two layer norms (Narayanan et al. 2021, §5.1, parameter formula).
    public var parametersPerLayer: Int { 12 * hidden * hidden + 13 * hidden }

    /// All parameters, with the word embedding counted once (tied with the output layer), position
    /// embeddings and the final layer norm:
    /// P = 12lh²(1 + 13/(12h) + (V + s)/(12lh)) plus the final norm (Narayanan et al. 2021, §5.1).
    public func parameterCount(tensorParallel t: Int = 1) -> Int {
        layers * parametersPerLayer + paddedVocabulary(tensorParallel: t) * hidden
            + contextLength * hidden + 2 * hidden
    }

    /// Parameters counted for MFU: everything but the position embeddings (GUIDE.md: `6·N`, N without
    /// position embeddings).
    public func nonEmbeddingPositionParameterCount(tensorParallel t: Int = 1) -> Int {
        parameterCount(tensorParallel: t) - contextLength * hidden
    }
}

// MARK: - Presets

extension ModelSpec {
    /// Every model preset, in the order `--help` lists them.
    public static let presets: [ModelSpec] = gpt2 + [gpt3_175b, mtnlg530b] + narayananTable1

    /// The names accepted by `preset(named:)`.
    public static var presetNames: [String] { presets.map(\.name) }

    /// Looks up a preset; the error lists the valid names.
    public static func preset(named name: String) throws(PlanError) -> ModelSpec {
        if let found = presets.first(where: { $0.name == name.lowercased() }) { return found }
        throw .unknownPreset(kind: "model", name: name, valid: presetNames)
    }

    /// A preset name, or the path of a JSON file holding a `ModelSpec`.
    public static func resolve(_ nameOrPath: String) throws(PlanError) -> ModelSpec {
        if nameOrPath.hasSuffix(".json") || FileManager.default.fileExists(atPath: nameOrPath) {
            let model: ModelSpec = try decodeJSONFile(nameOrPath, what: "model config")
            try model.validate()
            return model
        }
        return try preset(named: nameOrPath)
    }

    // GPT-2 sizes (Radford et al. 2019, Table 2: layers and d_model; heads from the released
    // configs, 64 dimensions per head). Batch 512 sequences of 1024 tokens (same paper, §2.3).
    // Vocabulary 50,257 unpadded: that is how Monolith runs it (GUIDE.md: N = 123,653,376).
    static let gpt2: [ModelSpec] = [
        ModelSpec(name: "gpt2-124m", layers: 12, hidden: 768, heads: 12, vocabulary: 50257,
                  contextLength: 1024, vocabularyMultiple: 1, publishedGlobalBatch: 512),
        ModelSpec(name: "gpt2-350m", layers: 24, hidden: 1024, heads: 16, vocabulary: 50257,
                  contextLength: 1024, vocabularyMultiple: 1, publishedGlobalBatch: 512),
        ModelSpec(name: "gpt2-774m", layers: 36, hidden: 1280, heads: 20, vocabulary: 50257,
                  contextLength: 1024, vocabularyMultiple: 1, publishedGlobalBatch: 512),
        ModelSpec(name: "gpt2-1.5b", layers: 48, hidden: 1600, heads: 25, vocabulary: 50257,
                  contextLength: 1024, vocabularyMultiple: 1, publishedGlobalBatch: 512),
    ]

    // GPT-3 175B (Brown et al. 2020, Table 2.1: 96 layers, d_model 12288, 96 heads, context 2048,
    // batch 3.2M tokens = 1536 sequences).
    static let gpt3_175b = ModelSpec(name: "gpt3-175b", layers: 96, hidden: 12288, heads: 96,
                                     vocabulary: 50257, contextLength: 2048, publishedGlobalBatch: 1536)

    // MT-NLG 530B (Smith et al. 2022: 105 layers, hidden 20480, 128 heads, sequence
    // 2048, global batch 1920 as in §2.4; GPT-2 vocabulary 50,257 padded to a multiple of 128·tp).
    static let mtnlg530b = ModelSpec(name: "mt-nlg-530b", layers: 105, hidden: 20480, heads: 128,
                                     vocabulary: 50257, contextLength: 2048, publishedGlobalBatch: 1920)

    // Narayanan et al. 2021, Table 1 (weak scaling): heads, hidden, layers and batch of each row;
    // vocabulary 51,200 and sequence 2048 for all (same paper, §5.1). Names carry the table's
    // parameter count in billions; "megatron-1t" is the 1008.0B row.
    static let narayananTable1: [ModelSpec] = [
        ("megatron-1.7b", 24, 2304, 24, 512), ("megatron-3.6b", 32, 3072, 30, 512),
        ("megatron-7.5b", 32, 4096, 36, 512), ("megatron-18.4b", 48, 6144, 40, 1024),
        ("megatron-39.1b", 64, 8192, 48, 1536), ("megatron-76.1b", 80, 10240, 60, 1792),
        ("megatron-145.6b", 96, 12288, 80, 2304), ("megatron-310.1b", 128, 16384, 96, 2160),
        ("megatron-529.6b", 128, 20480, 105, 2520), ("megatron-1t", 160, 25600, 128, 3072),
    ].map { name, heads, hidden, layers, batch in
        ModelSpec(name: name, layers: layers, hidden: hidden, heads: heads, vocabulary: 51200,
                  contextLength: 2048, publishedGlobalBatch: batch)
    }
}

/// Reads and decodes a JSON file, turning both failures into a `PlanError` that names the file.
func decodeJSONFile<T: Decodable>(_ path: String, what: String) throws(PlanError) -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw .unreadableFile(path: path, reason: "cannot read \(what): \(error.localizedDescription)")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw .unreadableFile(path: path, reason: "not a valid \(what): \(describe(decodingError: error))")
    }
}

private func describe(decodingError error: Error) -> String {
    switch error as? DecodingError {
    case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "field '\(path)': \(context.debugDescription)"
    default: return "\(error)"
    }
}
