import Foundation
import MonolithKernels
import MonolithModel
import MonolithParallel
#if canImport(Glibc)
import Glibc
#endif

/// Result of `monolith bench train`, in the JSON shape scripts compare against PyTorch.
public struct TrainBenchmarkResult: Codable, Sendable {
    /// Median wall-clock milliseconds per optimizer step, after warm-up.
    public let msPerStep: Double
    /// Tokens processed per second at the median.
    public let tokensPerSecond: Double
    /// Achieved GFLOP/s at the median, counting `6·N + 12·L·C·T` FLOPs per token.
    public let gflops: Double
    /// `gflops` over the stated peak.
    public let mfu: Double
    /// Peak resident set size of the process.
    public let peakRSSBytes: Int
    /// Every timed step, in milliseconds.
    public let stepTimesMs: [Double]
    /// The peak used for MFU, in GFLOP/s.
    public let peakGflops: Double
    /// Configuration echo.
    public let preset: String, batch: Int, seqLen: Int, threads: Int, parameters: Int, blas: String
    /// Data-parallel ranks (1 alone) and ZeRO stage; `batch` is per rank, so a step is `dp · batch`
    /// sequences and ``tokensPerSecond`` counts all ranks.
    public var dataParallel = 1, zeroStage = 0
    /// This rank's median seconds per step in gradient/parameter collectives, over its median step.
    public var communicationFraction = 0.0
    /// Tensor-parallel ranks, pipeline stages, chunks per stage, and micro-batches per replica.
    public var tensorParallel = 1, pipelineParallel = 1, virtualStages = 1, microBatches = 1
    /// This rank's median seconds per step blocked on pipeline receives, over its median step: the
    /// measured bubble (plus transfer time) of this stage.
    public var pipelineWaitFraction = 0.0
    /// The 1F1B bubble in theory, `(p − 1) / (v · m)`.
    public var theoreticalBubble = 0.0
    /// Activation recompute mode and the activation bytes this rank allocated.
    public var recompute = "none"
    public var activationBytes = 0
    /// This rank's parameters, gradients, both Adam moments and backward temporaries, in bytes.
    public var stateBytes = 0
    /// Matmul precision, how its products ran, and the CPU (figures differ between machines).
    public var precision = "fp32", gemm = "", cpu = ""

    enum CodingKeys: String, CodingKey {
        case msPerStep = "ms_per_step", tokensPerSecond = "tokens_per_second", gflops, mfu
        case peakRSSBytes = "peak_rss_bytes", stepTimesMs = "step_times_ms", peakGflops = "peak_gflops"
        case preset, batch, seqLen = "seq_len", threads, parameters, blas
        case dataParallel = "dp", zeroStage = "zero", communicationFraction = "communication_fraction"
        case tensorParallel = "tp", pipelineParallel = "pp", virtualStages = "virtual_stages", microBatches = "micro_batches"
        case pipelineWaitFraction = "pipeline_wait_fraction", theoreticalBubble = "theoretical_bubble", recompute
        case activationBytes = "activation_bytes", stateBytes = "state_bytes", precision, gemm, cpu
    }
}

/// Times full training steps (forward, backward, clipping, AdamW) on random tokens.
public enum TrainBenchmark {
    /// FLOPs per token for training: `6·N + 12·L·C·T`, `N` without position embeddings.
    public static func flopsPerToken(config: GPTConfig, seqLen: Int) -> Double {
        let n = ParameterLayout(config: config).countWithoutPositions
        return 6 * Double(n) + 12 * Double(config.nLayer * config.nEmbd * seqLen)
    }

    /// Runs `warmup + steps` steps and reports the median of the timed ones.
    /// `peakGflops` nil measures the FMA peak with ``PeakFlops``. A step is `microBatches`
    /// accumulated micro-batches of `batch` sequences per data-parallel replica (weak scaling: the
    /// global batch is `dp · microBatches · batch`); throughput counts every replica and MFU divides
    /// by the peak of every rank. The communication fraction counts the trainer's gradient,
    /// parameter and norm collectives, not the tensor-parallel all-reduces inside forward/backward
    /// or the pipeline's send/receive waits.
    public static func run(preset: String, config: GPTConfig, batch: Int, seqLen: Int, steps: Int, warmup: Int = 1,
                           peakGflops: Double? = nil, parallel: ParallelRuntime? = nil, microBatches: Int = 1,
                           precision: Precision = .fp32, progress: ((Int, Double) -> Void)? = nil) throws -> TrainBenchmarkResult {
        try validate(config: config, batch: batch, seqLen: seqLen, steps: steps, microBatches: microBatches)
        let parallel = try parallel ?? ParallelRuntime.single(model: config, microBatch: batch, seqLen: seqLen)
        let trainer = try Trainer(config: config, microBatch: (batch, seqLen), optimizer: AdamWConfig(),
                                  schedule: LRSchedule(lr: 6e-4, minLR: 6e-5, warmupSteps: 0, decaySteps: 1000),
                                  gradClip: 1.0, parallel: parallel, precision: precision)
        trainer.initializeWeights(seed: 1337)
        let mp = parallel.modelParallel, dp = parallel.dataParallel.size
        let tp = mp.layout.tensorParallel, pp = mp.layout.stages
        let ranks = dp * tp * pp
        var rng = SystemRandomNumberGenerator()
        let v = Int32(config.vocabSize)
        let ids = (0..<batch * seqLen).map { _ in Int32.random(in: 0..<v, using: &rng) }
        let targets = (0..<batch * seqLen).map { _ in Int32.random(in: 0..<v, using: &rng) }
        let mb = TokenBatch(ids: ids, targets: targets, batch: batch, seqLen: seqLen)
        var times: [Double] = [], comm: [Double] = [], waits: [Double] = []
        for i in 0..<(warmup + steps) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try trainer.step(microBatches: Array(repeating: mb, count: dp * microBatches))
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            if i >= warmup {
                times.append(ms); comm.append(trainer.lastCommunicationSeconds * 1000)
                waits.append(trainer.lastPipelineWaitSeconds * 1000)
            }
            progress?(i, ms)
        }
        let median = times.sorted()[times.count / 2]
        let tokens = Double(dp * microBatches * batch * seqLen)
        let gflops = flopsPerToken(config: config, seqLen: seqLen) * tokens / (median / 1000) / 1e9
        let pool = trainer.pool, threads = pool.threadCount
        let peak = peakGflops ?? PeakFlops.measure(precision: precision, pool: pool)
        var result = TrainBenchmarkResult(msPerStep: median, tokensPerSecond: tokens / (median / 1000), gflops: gflops,
                                          mfu: gflops / (peak * Double(ranks)), peakRSSBytes: peakRSS(), stepTimesMs: times,
                                          peakGflops: peak, preset: preset, batch: batch, seqLen: seqLen, threads: threads,
                                          parameters: ParameterLayout(config: config).count, blas: Blas.shared.description)
        result.dataParallel = dp
        result.zeroStage = parallel.dataParallel.zeroStage
        result.communicationFraction = comm.sorted()[comm.count / 2] / median
        result.tensorParallel = tp; result.pipelineParallel = pp; result.virtualStages = mp.layout.virtualStages
        result.pipelineWaitFraction = waits.sorted()[waits.count / 2] / median
        result.theoreticalBubble = Double(pp - 1) / Double(mp.layout.virtualStages * microBatches)
        result.recompute = mp.recompute.description
        result.activationBytes = trainer.peakActivationBytes
        result.stateBytes = trainer.stateBytes
        result.microBatches = microBatches
        result.precision = precision.rawValue
        result.gemm = BF16Gemm.description(of: precision)
        result.cpu = CPUFeatures.host.summary
        return result
    }

    /// Checks the benchmark's shape (before any process grid is built for it), naming the option.
    public static func validate(config: GPTConfig, batch: Int, seqLen: Int, steps: Int, microBatches: Int) throws {
        guard batch > 0 else { throw ConfigError(field: "batch", "must be positive, got \(batch)") }
        guard seqLen > 0, seqLen <= config.contextLength else {
            throw ConfigError(field: "seq", "\(seqLen) must be in 1...\(config.contextLength) (the context length)")
        }
        guard steps > 0 else { throw ConfigError(field: "steps", "must be positive, got \(steps)") }
        guard microBatches > 0 else { throw ConfigError(field: "micro-batches", "must be positive, got \(microBatches)") }
        try checkMemory(config: config, batch: batch, seqLen: seqLen)
    }

    /// Bytes a training run of this shape holds: parameters, gradients, two moments, activations.
    public static func estimatedBytes(config: GPTConfig, batch: Int, seqLen: Int) -> Int {
        let n = batch * seqLen, c = config.nEmbd
        let params = ParameterLayout(config: config).count
        let perBlock = 16 * n * c + 4 * n + batch * config.nHead * seqLen * seqLen
        let acts = config.nLayer * perBlock + n * config.vocabSize + 14 * n * c
        return 4 * (4 * params + acts)
    }

    /// Refuses shapes that cannot fit in physical memory, instead of dying in the OOM killer.
    public static func checkMemory(config: GPTConfig, batch: Int, seqLen: Int) throws {
        let need = estimatedBytes(config: config, batch: batch, seqLen: seqLen)
        let have = Int(ProcessInfo.processInfo.physicalMemory)
        if need > have * 9 / 10 {
            throw ConfigError(field: "batch", String(format: "batch %d × seq %d needs about %.1f GiB, but this machine has %.1f GiB",
                                                     batch, seqLen, Double(need) / 1073741824, Double(have) / 1073741824))
        }
    }

    /// Peak resident set size of this process (`VmHWM`).
    public static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
