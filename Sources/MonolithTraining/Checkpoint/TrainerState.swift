/// Everything besides tensors that a bit-identical resume needs.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Format version of this file.
    public var version = 1
    /// Optimizer steps completed.
    public var step = 0
    /// AdamW's step counter (bias correction).
    public var optimizerSteps = 0
    /// Data stream position.
    public var data = DataState()
    /// Dropout mask counter.
    public var dropoutStep = 0
    /// Random state of the sampler used for periodic samples.
    public var sampleRNG: UInt64 = 0
    /// Training seconds before this checkpoint (for throughput and ETA across resumes).
    public var elapsedSeconds = 0.0
    /// Tokens trained on so far.
    public var tokens = 0
    /// Steps skipped for a non-finite gradient norm (`training.skip_nonfinite`).
    public var skippedSteps = 0
    /// fp16's loss scale and its clean-step counter (absent in fp32 and bf16 runs).
    public var lossScaler: LossScaler?

    enum CodingKeys: String, CodingKey {
        case version, step, optimizerSteps = "optimizer_steps", data, dropoutStep = "dropout_step"
        case sampleRNG = "sample_rng", elapsedSeconds = "elapsed_seconds", tokens, skippedSteps = "skipped_steps"
        case lossScaler = "loss_scaler"
    }

    public init() {}

    /// Reads a state file; `skipped_steps` and `loss_scaler`, added later, may be missing (0, none).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        step = try c.decode(Int.self, forKey: .step)
        optimizerSteps = try c.decode(Int.self, forKey: .optimizerSteps)
        data = try c.decode(DataState.self, forKey: .data)
        dropoutStep = try c.decode(Int.self, forKey: .dropoutStep)
        sampleRNG = try c.decode(UInt64.self, forKey: .sampleRNG)
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
        tokens = try c.decode(Int.self, forKey: .tokens)
        skippedSteps = try c.decodeIfPresent(Int.self, forKey: .skippedSteps) ?? 0
        lossScaler = try c.decodeIfPresent(LossScaler.self, forKey: .lossScaler)
    }
}
