import MonolithModel
import MonolithParallel

/// `[optimizer]`: AdamW.
public struct OptimizerSection: Codable, Sendable, Equatable {
    /// Peak learning rate.
    public var lr: Float = 1e-3
    /// First-moment decay.
    public var beta1: Float = 0.9
    /// Second-moment decay.
    public var beta2: Float = 0.99
    /// Denominator epsilon.
    public var eps: Float = 1e-8
    /// Decoupled weight decay on 2-D weights.
    public var weightDecay: Float = 0.1
    /// Global-norm gradient clipping threshold (0 disables it).
    public var gradClip: Float = 1.0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case lr, beta1, beta2, eps, weightDecay = "weight_decay", gradClip = "grad_clip"
    }

    /// The optimizer's own configuration.
    public var adamW: AdamWConfig { AdamWConfig(beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay) }

    func validate() throws {
        if !(lr > 0) { throw ConfigError(field: "optimizer.lr", "must be positive, got \(lr)") }
        if !(gradClip >= 0) { throw ConfigError(field: "optimizer.grad_clip", "must be ≥ 0, got \(gradClip)") }
        try adamW.validate()
    }
}

/// `[schedule]`: learning rate warm-up and decay, and batch-size ramp-up.
public struct ScheduleSection: Codable, Sendable, Equatable {
    /// Linear warm-up steps.
    public var warmupSteps = 100
    /// Step at which cosine decay reaches `min_lr` (0: the last step).
    public var decaySteps = 0
    /// Final learning rate.
    public var minLR: Float = 1e-4
    /// Megatron's `--rampup-batch-size start increment samples`: start at `start` sequences, grow by
    /// `increment` until the global batch, spread over `samples` sequences. Empty: no ramp-up.
    public var batchRampup: [Int] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case warmupSteps = "warmup_steps", decaySteps = "decay_steps", minLR = "min_lr", batchRampup = "batch_rampup"
    }

    /// The learning-rate schedule for a run of `maxSteps`.
    public func lrSchedule(lr: Float, maxSteps: Int) -> LRSchedule {
        LRSchedule(lr: lr, minLR: minLR, warmupSteps: warmupSteps, decaySteps: decaySteps > 0 ? decaySteps : maxSteps)
    }

    func validate(training: TrainingSection) throws {
        if warmupSteps < 0 { throw ConfigError(field: "schedule.warmup_steps", "must be ≥ 0, got \(warmupSteps)") }
        if decaySteps < 0 { throw ConfigError(field: "schedule.decay_steps", "must be ≥ 0, got \(decaySteps)") }
        if !(minLR >= 0) { throw ConfigError(field: "schedule.min_lr", "must be ≥ 0, got \(minLR)") }
        if !batchRampup.isEmpty {
            guard batchRampup.count == 3, batchRampup.allSatisfy({ $0 > 0 }) else {
                throw ConfigError(field: "schedule.batch_rampup", "must be [start, increment, samples] with positive values")
            }
            let (start, inc) = (batchRampup[0], batchRampup[1])
            if start > training.globalBatch || (training.globalBatch - start) % inc != 0 {
                throw ConfigError(field: "schedule.batch_rampup", "global batch \(training.globalBatch) − start \(start) must be a non-negative multiple of the increment \(inc)")
            }
            if start % training.microBatch != 0 || inc % training.microBatch != 0 {
                throw ConfigError(field: "schedule.batch_rampup", "start and increment must be multiples of training.micro_batch (\(training.microBatch))")
            }
        }
    }

    /// Global batch (in sequences) after `consumedSamples`, following Megatron's ramp-up.
    public func globalBatch(final: Int, consumedSamples: Int) -> Int {
        guard batchRampup.count == 3 else { return final }
        let (start, inc, samples) = (batchRampup[0], batchRampup[1], batchRampup[2])
        let increments = max(1, (final - start) / inc)
        let samplesPerIncrement = Double(samples) / Double(increments)
        let steps = Int(Double(consumedSamples) / samplesPerIncrement)
        return min(final, start + steps * inc)
    }
}

/// `[training]`: the loop.
public struct TrainingSection: Codable, Sendable, Equatable {
    /// Optimizer steps to run.
    public var maxSteps = 2000
    /// Sequences per micro-batch (one forward/backward).
    public var microBatch = 12
    /// Sequences per optimizer step; a multiple of `micro_batch` (gradients accumulate in between).
    public var globalBatch = 12
    /// Seed of initialization, dropout and sampling.
    public var seed: UInt64 = 1337
    /// Evaluate the validation loss every this many steps (0: only at the end).
    public var evalInterval = 250
    /// Validation batches per periodic evaluation (0: the whole validation split).
    public var evalBatches = 0
    /// Validation batches for the evaluation after the last step (0: the whole validation split).
    public var finalEvalBatches = 0
    /// Print a sample every this many steps (0: only at the end).
    public var sampleInterval = 0
    /// Tokens per sample.
    public var sampleTokens = 200
    /// Sampling temperature.
    public var sampleTemperature: Float = 0.8
    /// Threads (0: all cores).
    public var threads = 0
    /// Skip a step whose gradient norm is NaN or infinite instead of stopping the run: the batch
    /// is consumed, nothing is updated (no AdamW step, the learning-rate schedule does not advance).
    public var skipNonfinite = false
    /// With `skip_nonfinite`, stop the run once this many steps have been skipped (0: never).
    public var maxSkippedSteps = 10
    /// Matmul operand format: `fp32`, `bf16` or `fp16` (operands rounded, fp32 accumulation; norms,
    /// softmax, loss, gradient reduction, optimizer and master weights stay fp32).
    public var precision = Precision.fp32
    /// fp16 only: the loss scale to start from (Megatron's `--initial-loss-scale`).
    public var initialLossScale: Float = 65536
    /// fp16 only: clean steps in a row before the loss scale doubles (`--loss-scale-window`).
    public var lossScaleWindow = 1000

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxSteps = "max_steps", microBatch = "micro_batch", globalBatch = "global_batch", seed
        case skipNonfinite = "skip_nonfinite", maxSkippedSteps = "max_skipped_steps"
        case precision, initialLossScale = "initial_loss_scale", lossScaleWindow = "loss_scale_window"
        case evalInterval = "eval_interval", evalBatches = "eval_batches", finalEvalBatches = "final_eval_batches"
        case sampleInterval = "sample_interval"
        case sampleTokens = "sample_tokens", sampleTemperature = "sample_temperature", threads
    }

    func validate() throws {
        if maxSteps <= 0 { throw ConfigError(field: "training.max_steps", "must be positive, got \(maxSteps)") }
        if microBatch <= 0 { throw ConfigError(field: "training.micro_batch", "must be positive, got \(microBatch)") }
        if globalBatch <= 0 || globalBatch % microBatch != 0 {
            throw ConfigError(field: "training.global_batch", "\(globalBatch) must be a positive multiple of training.micro_batch (\(microBatch))")
        }
        if evalInterval < 0 { throw ConfigError(field: "training.eval_interval", "must be ≥ 0, got \(evalInterval)") }
        if evalBatches < 0 { throw ConfigError(field: "training.eval_batches", "must be ≥ 0, got \(evalBatches)") }
        if finalEvalBatches < 0 { throw ConfigError(field: "training.final_eval_batches", "must be ≥ 0, got \(finalEvalBatches)") }
        if sampleInterval < 0 { throw ConfigError(field: "training.sample_interval", "must be ≥ 0, got \(sampleInterval)") }
        if sampleTokens < 0 { throw ConfigError(field: "training.sample_tokens", "must be ≥ 0, got \(sampleTokens)") }
        if threads < 0 { throw ConfigError(field: "training.threads", "must be ≥ 0, got \(threads)") }
        if maxSkippedSteps < 0 { throw ConfigError(field: "training.max_skipped_steps", "must be ≥ 0, got \(maxSkippedSteps)") }
        if !(initialLossScale >= 1) || !initialLossScale.isFinite {
            throw ConfigError(field: "training.initial_loss_scale", "must be a finite value ≥ 1, got \(initialLossScale)")
        }
        if lossScaleWindow <= 0 { throw ConfigError(field: "training.loss_scale_window", "must be positive, got \(lossScaleWindow)") }
    }
}

/// `[checkpoint]`: saving and resuming.
public struct CheckpointSection: Codable, Sendable, Equatable {
    /// Save every this many steps (0: only at the end and on SIGINT/SIGTERM).
    public var interval = 500
    /// Keep the newest this many checkpoints (0: keep all).
    public var keepLast = 3
    /// Resume from `latest`, a step number, or nothing (empty).
    public var resume = ""
    /// Also write `model.gguf` (with the tokenizer's metadata) into each checkpoint, matrices in
    /// this type, so that llama.cpp runs it: `none`, `f32`, `f16`, `bf16` or `q8_0`.
    public var gguf = GGUFExportType.none

    enum CodingKeys: String, CodingKey, CaseIterable { case interval, keepLast = "keep_last", resume, gguf }

    func validate() throws {
        if interval < 0 { throw ConfigError(field: "checkpoint.interval", "must be ≥ 0, got \(interval)") }
        if keepLast < 0 { throw ConfigError(field: "checkpoint.keep_last", "must be ≥ 0, got \(keepLast)") }
        if !resume.isEmpty && resume != "latest" && Int(resume) == nil {
            throw ConfigError(field: "checkpoint.resume", "must be \"latest\" or a step number, got \"\(resume)\"")
        }
    }
}

/// `[logging]`: outputs.
public struct LoggingSection: Codable, Sendable, Equatable {
    /// Run directory: checkpoints, metrics, TensorBoard events and plots go under it.
    public var outDir = "runs/demo"
    /// Log a training line every this many steps.
    public var interval = 10
    /// Write TensorBoard event files.
    public var tensorboard = true
    /// Draw the loss curve (SVG) at the end.
    public var plot = true
    /// Progress display: `auto` (a bar on a terminal, lines otherwise), `bar`, `lines`, or `none`.
    public var progress = ProgressMode.auto

    enum CodingKeys: String, CodingKey, CaseIterable { case outDir = "out_dir", interval, tensorboard, plot, progress }

    func validate() throws {
        if outDir.isEmpty { throw ConfigError(field: "logging.out_dir", "must not be empty") }
        if interval <= 0 { throw ConfigError(field: "logging.interval", "must be positive, got \(interval)") }
    }
}

/// `[parallel]`: the 3D layout (tensor × pipeline × data) and memory savers.
public struct ParallelSection: Codable, Sendable, Equatable {
    /// Tensor-parallel ranks.
    public var tp = 1
    /// Pipeline stages.
    public var pp = 1
    /// Data-parallel replicas (0: whatever the world size leaves).
    public var dp = 0
    /// ZeRO stage: 0 (replicated optimizer), 1 (sharded optimizer states), 2 (and sharded gradients).
    public var zero = 0
    /// Virtual pipeline stages per rank (interleaved 1F1B when > 1).
    public var virtualStages = 1
    /// Activation recomputation: `none`, `selective` (attention core) or `full` (whole blocks).
    public var recompute = RecomputeMode.none
    /// With `recompute = "full"`: recompute the blocks whose index is a multiple of this (1: all).
    public var recomputeEvery = 1
    /// Use sequence parallelism in the LayerNorm/dropout regions (needs tp > 1).
    public var sequenceParallel = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case tp, pp, dp, zero, virtualStages = "virtual_stages", recompute, recomputeEvery = "recompute_every"
        case sequenceParallel = "sequence_parallel"
    }

    /// A layout; the defaults are one process (dp 0 takes whatever the world size leaves).
    public init(tp: Int = 1, pp: Int = 1, dp: Int = 0, zero: Int = 0, virtualStages: Int = 1, recompute: RecomputeMode = .none,
                sequenceParallel: Bool = false) {
        self.tp = tp; self.pp = pp; self.dp = dp; self.zero = zero; self.virtualStages = virtualStages; self.recompute = recompute
        self.sequenceParallel = sequenceParallel
    }

    /// What the model-parallel shard recomputes (`recompute_every` applies to `full`).
    public var activationRecompute: ActivationRecompute {
        switch recompute {
        case .none: .none
        case .selective: .selective
        case .full: .full(every: recomputeEvery)
        }
    }

    /// Whether any activations are recomputed.
    public var recomputes: Bool { recompute != .none }

    public func validate() throws {
        for (name, v) in [("tp", tp), ("pp", pp), ("virtual_stages", virtualStages), ("recompute_every", recomputeEvery)] where v < 1 {
            throw ConfigError(field: "parallel.\(name)", "must be ≥ 1, got \(v)")
        }
        if dp < 0 { throw ConfigError(field: "parallel.dp", "must be ≥ 0, got \(dp)") }
        if !(0...2).contains(zero) { throw ConfigError(field: "parallel.zero", "must be 0, 1 or 2, got \(zero)") }
        if sequenceParallel && tp == 1 {
            throw ConfigError(field: "parallel.sequence_parallel", "needs parallel.tp > 1 (it splits the LayerNorm regions over the tensor group)")
        }
    }
}
