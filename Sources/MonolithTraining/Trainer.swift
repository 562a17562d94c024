import MonolithKernels
import MonolithModel
import MonolithParallel

/// One batch of token ids and next-token targets, `[B, T]` each, row-major.
public struct TokenBatch: Sendable {
    /// Input ids.
    public var ids: [Int32]
    /// Targets; −1 marks a position that does not count towards the loss.
    public var targets: [Int32]
    /// Rows and columns.
    public let batch: Int, seqLen: Int

    /// Creates a batch, checking the sizes agree.
    public init(ids: [Int32], targets: [Int32], batch: Int, seqLen: Int) {
        precondition(ids.count == batch * seqLen && targets.count == batch * seqLen, "batch arrays must hold batch·seqLen ids")
        self.ids = ids; self.targets = targets; self.batch = batch; self.seqLen = seqLen
    }
}

/// What one optimizer step did.
public struct StepStats: Sendable {
    /// Mean loss over the step's micro-batches.
    public let loss: Float
    /// Gradient L2 norm before clipping.
    public let gradNorm: Float
    /// Learning rate used.
    public let lr: Float
    /// The gradient norm was not finite and the step was skipped (``Trainer/skipNonFinite``).
    public var skipped = false
}

/// Forward, backward with gradient accumulation, clipping and AdamW: one optimizer step, for every
/// layout. The model being trained is this rank's ``ModelShard`` (with one process, the whole
/// model); the data-parallel group and the tensor/pipeline groups are values in ``parallel``, and
/// with one rank each their collectives are no-ops.
///
/// ```swift
/// let runtime = try ParallelRuntime.single(model: config, microBatch: 4, seqLen: 256)
/// let trainer = try Trainer(config: config, microBatch: (4, 256), optimizer: AdamWConfig(),
///                           schedule: schedule, gradClip: 1, parallel: runtime)
/// trainer.shard.initializeWeights(seed: 1337)
/// let stats = try trainer.step(microBatches: batches)
/// ```
public final class Trainer {
    /// The model's shape.
    public let config: GPTConfig
    /// This rank's share of the model: parameters, gradients, forward and backward.
    public let shard: ModelShard
    /// The optimizer and its state (over the shard's buffer, or its ZeRO slot).
    public let optimizer: AdamW
    /// Learning-rate schedule.
    public let schedule: LRSchedule
    /// Global-norm clipping threshold (0 disables clipping).
    public let gradClip: Float
    /// This rank's groups.
    public let parallel: ParallelRuntime
    /// Steps taken, skipped ones included (set it when resuming).
    public var step = 0
    /// Skip a step whose gradient norm is NaN or infinite instead of throwing
    /// ``NonFiniteGradientError``, by Megatron's rule: the batch is consumed (the step and dropout
    /// counters advance) but nothing is updated, and the learning-rate schedule does not advance.
    public var skipNonFinite = false
    /// Steps skipped so far (saved in checkpoints: the schedule's position is `step - skippedSteps`).
    public var skippedSteps = 0
    /// The operand format of the model's matmuls; master weights, gradients and moments stay fp32.
    public let precision: Precision
    /// fp16's dynamic loss scaling (nil in fp32 and bf16). An overflowed step is always skipped,
    /// whatever ``skipNonFinite`` says, and halves the scale.
    public var lossScaler: LossScaler?
    /// Fault injection for tests: at this value of ``step`` one of this rank's gradients becomes
    /// NaN before the norm (`MONOLITH_FAULT_NAN=RANK:STEP` sets it in `monolith train`).
    public var faultNaNAtStep: Int? = nil
    /// Seed of the dropout masks, and the global micro-batch counter that advances them (saved in
    /// checkpoints so a resumed run draws the same masks).
    public var dropoutSeed: UInt64 = 0, dropoutStep = 0
    /// Seconds the last step spent in gradient, norm and parameter collectives (0 alone).
    public internal(set) var lastCommunicationSeconds = 0.0
    /// Bucketed gradient all-reduce overlapped with backward (ZeRO 0 with dp > 1).
    let buckets: GradientBuckets?
    /// ZeRO-2: the summed gradient of this rank's slot, accumulated over the micro-batches.
    let gradientShard: FloatBuffer?
    /// Walks the pipeline plan over the shard's chunks (made once, so its activation sets are reused).
    var pipelineStage: PipelineStage?
    /// The whole model and its Adam moments assembled for samples and checkpoints on the logging
    /// rank (allocated once, on first use).
    var assembled: GPT?
    var assembledMoments: (m: FloatBuffer, v: FloatBuffer)?

    /// A trainer for `config` on this rank's share of `parallel`'s layout, for micro-batches of
    /// `microBatch`. The shard starts at zero: call `shard.initializeWeights(seed:)`,
    /// `shard.load(fullParameters:)` or ``restore(from:step:)``.
    public init(config: GPTConfig, microBatch: (batch: Int, seqLen: Int), optimizer: AdamWConfig, schedule: LRSchedule,
                gradClip: Float, parallel: ParallelRuntime, precision: Precision = .fp32, lossScaler: LossScaler = LossScaler(),
                pool: WorkerPool = .shared, gradientBucketBytes: Int = 25 << 20) throws {
        try schedule.validate()
        if !(gradClip >= 0) { throw ConfigError(field: "optimizer.grad_clip", "must be ≥ 0, got \(gradClip)") }
        let mp = parallel.modelParallel, dp = parallel.dataParallel
        precondition(mp.layout.config == config, "the parallel layout was made for another model")
        self.config = config
        self.parallel = parallel
        self.schedule = schedule
        self.gradClip = gradClip
        self.precision = precision
        self.lossScaler = precision == .fp16 ? lossScaler : nil
        shard = ModelShard(layout: mp.layout, tensor: mp.tensor, batch: microBatch.batch, seqLen: microBatch.seqLen,
                           recompute: mp.recompute, sequenceParallel: mp.sequenceParallel, bufferCount: dp.bufferCount,
                           precision: precision, pool: pool)
        self.optimizer = try AdamW(config: optimizer, count: mp.layout.count, decayRuns: mp.layout.decayRuns,
                                   shard: dp.optimizerShard, slotSize: dp.optimizerShard == nil ? 0 : dp.shards.shardSize, pool: pool)
        buckets = dp.zeroStage == 0 && dp.size > 1
            ? GradientBuckets(count: mp.layout.count, group: dp.group, bucketBytes: gradientBucketBytes,
                              boundaries: mp.layout.entries.map(\.range.lowerBound))
            : nil
        gradientShard = dp.zeroStage == 2 ? FloatBuffer(count: dp.shards.shardSize) : nil
    }

    /// GPT-2 initialization of this rank's share, value for value the whole model's.
    public func initializeWeights(seed: UInt64) { shard.initializeWeights(seed: seed) }

    /// Takes this rank's share of `model`'s weights (a whole model, e.g. loaded from Hugging Face).
    public func load(weights model: GPT) throws {
        guard model.config.sameArchitecture(as: config) else {
            throw TrainingError("the weights are for another model shape than the trainer's")
        }
        shard.load(fullParameters: model.parameters.base)
    }

    /// Bytes this rank holds outside the activation sets: the shard's parameters, gradients and
    /// backward temporaries, and the optimizer's moments.
    public var stateBytes: Int { shard.stateBytes + (optimizer.m.count + optimizer.v.count) * 4 }

    /// The data-parallel group and ZeRO stage.
    public var dataParallel: DataParallelContext { parallel.dataParallel }
    /// The tensor/pipeline groups, the shard's layout and the recompute policy.
    public var modelParallel: ModelParallelContext { parallel.modelParallel }
    /// The pool the kernels run on.
    public var pool: WorkerPool { shard.pool }
}
