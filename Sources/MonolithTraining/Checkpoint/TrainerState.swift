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

    enum CodingKeys: String, CodingKey {
        case version, step, optimizerSteps = "optimizer_steps", data, dropoutStep = "dropout_step"
        case sampleRNG = "sample_rng", elapsedSeconds = "elapsed_seconds", tokens
    }

    public init() {}
}
