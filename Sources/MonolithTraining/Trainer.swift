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
}

/// Forward, backward with gradient accumulation, clipping and AdamW: one optimizer step.
public final class Trainer {
    /// The model being trained.
    public let model: GPT
    /// The optimizer and its state.
    public let optimizer: AdamW
    /// Learning-rate schedule.
    public let schedule: LRSchedule
    /// Global-norm clipping threshold (0 disables clipping).
    public let gradClip: Float
    /// Optimizer steps taken (the schedule's position; set it when resuming).
    public var step = 0
    /// The data-parallel group and ZeRO stage; `nil` trains alone.
    public let dataParallel: DataParallelContext?
    /// Seconds the last step spent in gradient, norm and parameter collectives (0 alone).
    public internal(set) var lastCommunicationSeconds = 0.0
    /// Bucketed gradient all-reduce (ZeRO 0 with dp > 1).
    let buckets: GradientBuckets?
    /// ZeRO-2: the summed gradient of this rank's slot, accumulated over the micro-batches.
    let gradientShard: FloatBuffer?
    /// Tensor/pipeline parallelism (or recompute): the groups and this rank's shard.
    public let modelParallel: ModelParallelContext?
    /// This rank's share of the model; the training state lives here, and ``model`` only holds the
    /// full weights when ``assembleFullModel()`` has gathered them.
    public let shard: ModelShard?
    /// Walks the pipeline plan over the shard's chunks.
    var pipelineStage: PipelineStage?

    /// Creates a trainer around `model`. With `dataParallel` alone, the model's buffers must be
    /// ``DataParallelContext/bufferCount`` long and every replica must start from the same weights.
    /// With `modelParallel`, training runs on a ``ModelShard`` for micro-batches of `microBatch`,
    /// sliced now from `initialWeights` (default: `model`'s, if it has any); `model` may then be
    /// made without gradients or weights (see ``assembleFullModel()``).
    public init(model: GPT, optimizer: AdamWConfig, schedule: LRSchedule, gradClip: Float,
                dataParallel: DataParallelContext? = nil, modelParallel: ModelParallelContext? = nil,
                microBatch: (batch: Int, seqLen: Int)? = nil, initialWeights: UnsafePointer<Float>? = nil,
                gradientBucketBytes: Int = 25 << 20) throws {
        try schedule.validate()
        if !(gradClip >= 0) { throw ConfigError(field: "optimizer.grad_clip", "must be ≥ 0, got \(gradClip)") }
        self.model = model
        let slot = dataParallel?.optimizerShard == nil ? 0 : dataParallel!.shards.shardSize
        if let mp = modelParallel {
            precondition(dataParallel != nil && microBatch != nil, "model parallelism needs a data-parallel context and the micro-batch shape")
            let s = ModelShard(layout: mp.layout, tensor: mp.tensor, batch: microBatch!.batch, seqLen: microBatch!.seqLen,
                               recompute: mp.recompute, sequenceParallel: mp.sequenceParallel, bufferCount: dataParallel!.bufferCount,
                               pool: model.pool)
            // Without initial weights (a weightless model) the shard starts at zero: call
            // `shard.initializeWeights(seed:)` or `restore(from:step:)`.
            if let w = initialWeights ?? (model.hasWeights ? UnsafePointer(model.parameters.base) : nil) { s.load(fullParameters: w) }
            shard = s
            self.optimizer = try AdamW(config: optimizer, count: mp.layout.count, decayRuns: mp.layout.decayRuns,
                                       shard: dataParallel?.optimizerShard, slotSize: slot, pool: model.pool)
        } else {
            shard = nil
            self.optimizer = try AdamW(config: optimizer, layout: model.layout, shard: dataParallel?.optimizerShard,
                                       slotSize: slot, pool: model.pool)
            if let dp = dataParallel {
                precondition(model.gradients.count == dp.bufferCount, "the model's buffers must be DataParallelContext.bufferCount long")
            }
        }
        self.modelParallel = modelParallel
        self.schedule = schedule
        self.gradClip = gradClip
        self.dataParallel = dataParallel
        buckets = dataParallel.flatMap { dp in
            guard dp.zeroStage == 0 && dp.size > 1 else { return nil }
            if let mp = modelParallel {
                return GradientBuckets(count: mp.layout.count, group: dp.group, bucketBytes: gradientBucketBytes,
                                       boundaries: mp.layout.entries.map(\.range.lowerBound))
            }
            return GradientBuckets(count: model.layout.count, group: dp.group, bucketBytes: gradientBucketBytes,
                                   boundaries: model.layout.tensors.map(\.offset))
        }
        gradientShard = dataParallel.flatMap { $0.zeroStage == 2 ? FloatBuffer(count: $0.shards.shardSize) : nil }
    }

    /// Accumulates gradients over `microBatches` (each loss scaled by 1/count), clips, and updates.
    ///
    /// With ``dataParallel``, `microBatches` is the *global* batch (identical on every rank); this
    /// rank runs its contiguous slice and the result equals the single-process step.
    public func step(microBatches: [TokenBatch]) throws -> StepStats {
        precondition(!microBatches.isEmpty, "a step needs at least one micro-batch")
        if let mp = modelParallel { return try modelParallelStep(microBatches: microBatches, context: mp, dataParallel: dataParallel!) }
        if let dp = dataParallel { return try dataParallelStep(microBatches: microBatches, context: dp) }
        model.training = true
        model.zeroGradients()
        var lossSum: Float = 0
        let scale = 1 / Float(microBatches.count)
        for mb in microBatches {
            let loss = try mb.ids.withUnsafeBufferPointer { ids in
                try mb.targets.withUnsafeBufferPointer { tg in
                    try model.forward(ids: ids.baseAddress!, targets: tg.baseAddress!, batch: mb.batch, seqLen: mb.seqLen)!
                }
            }
            model.backward(lossScale: scale)
            model.dropoutStep += 1
            lossSum += loss
        }
        let norm = GradientClipping.clip(model.gradients, maxNorm: gradClip, pool: model.pool)
        let lr = schedule.lr(at: step)
        optimizer.step(parameters: model.parameters, gradients: model.gradients, lr: lr)
        step += 1
        return StepStats(loss: lossSum * scale, gradNorm: norm, lr: lr)
    }
}
