import ArgumentParser
import Foundation
import MonolithKernels
import MonolithModel
import MonolithParallel
import MonolithTraining

/// `monolith bench …`: speed measurements with machine-readable output.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (median of timed runs; --json for scripts).",
        subcommands: [BenchTrain.self, BenchGenerate.self, BenchGemm.self, BenchPeak.self, BenchEncode.self])
}

/// Runs kernels with a given thread count by sizing the shared pool before first use.
func configureThreads(_ threads: Int?) {
    if let threads { setenv("MONOLITH_THREADS", String(threads), 1) }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Time full training steps (forward, backward, clip, AdamW) on random tokens.")

    @Option(help: "Model preset: \(GPTConfig.presetNames.joined(separator: ", ")).") var preset = "gpt2-124m"
    @Option(help: "Override the preset's layer count (e.g. a balanced model for pipeline timings).") var layers: Int?
    @Option(help: "Override the preset's vocabulary size.") var vocab: Int?
    @Option(help: "Micro-batch size B.") var batch = 4
    @Option(help: "Sequence length T.") var seq = 256
    @Option(help: "Timed steps (after one warm-up step).") var steps = 5
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Peak GFLOP/s for MFU (default: measured fp32 FMA peak of the threads used).") var peakGflops: Double?
    @Option(name: [.customLong("tp"), .customLong("parallel.tp")], help: "Tensor-parallel ranks (under mpirun).") var tp = 1
    @Option(name: [.customLong("pp"), .customLong("parallel.pp")], help: "Pipeline stages (under mpirun).") var pp = 1
    @Option(name: [.customLong("dp"), .customLong("parallel.dp")],
            help: "Data-parallel ranks (0: the world size / (tp·pp)); each runs --batch sequences per step.") var dp = 0
    @Option(name: [.customLong("zero"), .customLong("parallel.zero")], help: "ZeRO stage 0, 1 or 2.") var zero = 0
    @Option(name: [.customLong("virtual-stages"), .customLong("parallel.virtual_stages")],
            help: "Model chunks per pipeline stage (interleaved 1F1B).") var virtualStages = 1
    @Option(help: "Micro-batches accumulated per step and replica (the pipeline's m).") var microBatches = 1
    @Option(name: [.customLong("recompute"), .customLong("parallel.recompute")],
            help: "Activation recompute: none, selective or full.") var recompute = "none"
    @Option(name: [.customLong("recompute-every"), .customLong("parallel.recompute_every")],
            help: "With full recompute: every k-th block.") var recomputeEvery = 1
    @Flag(name: [.customLong("sequence-parallel"), .customLong("parallel.sequence_parallel")],
          help: "Sequence parallelism in the LayerNorm/residual regions (tp > 1).") var sequenceParallel = false
    @Option(help: "Matmul precision: fp32, bf16 or fp16 (MFU is then against the bf16 peak where bf16 runs natively).")
    var precision: Precision = .fp32
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        configureThreads(threads)
        guard var config = GPTConfig.preset(preset) else {
            throw ValidationError("unknown preset '\(preset)'; choose one of: \(GPTConfig.presetNames.joined(separator: ", "))")
        }
        if let layers { config.nLayer = layers }
        if let vocab { config.vocabSize = vocab }
        do { try config.validate() } catch { throw ValidationError("--layers/--vocab: \(error)") }
        let mode: RecomputeMode
        switch RecomputeMode.parse(recompute) {
        case .success(let m): mode = m
        case .failure(let e): throw ValidationError("--recompute: \(e.message)")
        }
        var section = ParallelSection(tp: tp, pp: pp, dp: dp, zero: zero, virtualStages: virtualStages, recompute: mode)
        section.recomputeEvery = recomputeEvery
        section.sequenceParallel = sequenceParallel
        try section.validate()
        try TrainBenchmark.validate(config: config, batch: batch, seqLen: seq, steps: steps, microBatches: microBatches)
        let runtime: ParallelRuntime, prefix: String
        if MPIEnvironment.isLaunchedByMPI || ParallelRuntime.wantsParallel(section) {
            let world = MPICommunicator.world()
            let ranks = dp > 0 ? dp : max(1, world.size / max(1, tp * pp))
            runtime = try ParallelRuntime.make(world: world, section: section, model: config, microBatch: batch,
                                               globalBatch: batch * ranks * microBatches, seqLen: seq)
            prefix = runtime.logPrefix + " "
        } else {
            runtime = try ParallelRuntime.single(model: config, microBatch: batch, seqLen: seq, section: section)
            prefix = ""
        }
        let result = try TrainBenchmark.run(preset: preset, config: config, batch: batch, seqLen: seq, steps: steps,
                                            peakGflops: peakGflops, parallel: runtime, microBatches: microBatches,
                                            precision: precision) { i, ms in
            if !json { FileHandle.standardError.write("\(prefix)step \(i): \(String(format: "%.1f", ms)) ms\n".data(using: .utf8)!) }
        }
        if json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(result), encoding: .utf8)!)
        } else {
            print("""
                \(prefix)dp \(result.dataParallel) ZeRO \(result.zeroStage): communication \(String(format: "%.1f%%", 100 * result.communicationFraction)) of the median step
                \(prefix)tp \(result.tensorParallel) pp \(result.pipelineParallel) v \(result.virtualStages) m \(result.microBatches): pipeline wait \(String(format: "%.1f%%", 100 * result.pipelineWaitFraction)) of the median step (1F1B bubble in theory \(String(format: "%.1f%%", 100 * result.theoreticalBubble))); activations \(String(format: "%.2f", Double(result.activationBytes) / 1e6)) MB, recompute \(result.recompute); training state \(String(format: "%.2f", Double(result.stateBytes) / 1e6)) MB
                \(prefix)preset \(preset): \(result.parameters) parameters, B=\(batch) T=\(seq), \(result.threads) threads, \(result.precision) on \(result.gemm); \(result.cpu)
                \(prefix)median \(String(format: "%.1f", result.msPerStep)) ms/step, \(String(format: "%.0f", result.tokensPerSecond)) tokens/s, \
                \(String(format: "%.1f", result.gflops)) GFLOP/s, MFU \(String(format: "%.1f%%", 100 * result.mfu)) \
                (peak \(String(format: "%.0f", result.peakGflops)) GFLOP/s), peak RSS \(String(format: "%.2f", Double(result.peakRSSBytes) / 1073741824)) GiB
                """)
        }
    }
}

struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "Time sgemm on GPT-2 training shapes (how the BLAS library was chosen).")

    @Option(help: "Tokens per batch (B·T).") var rows = 1024
    @Option(help: "Model width C.") var width = 768
    @Option(help: "Vocabulary size for the lm_head shapes.") var vocab = 50257
    @Option(help: "Repetitions per shape (median reported).") var reps = 5
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Threading: pool (Monolith splits single-threaded BLAS calls) or library (BLAS's own threads).")
    var threading = "pool"
    @Option(help: "Operand precision: fp32, or bf16/fp16 operands with fp32 accumulation (bf16 on the backend chosen at start-up; MONOLITH_BF16_GEMM=avx512|emulated forces one).")
    var precision: Precision = .fp32
    @Flag(help: "Print one JSON object.") var json = false

    struct Shape: Codable { let name: String; let m, n, k: Int; let transA, transB: Bool; var gflops = 0.0 }

    func run() throws {
        configureThreads(threads)
        let n = rows, c = width
        var shapes = [
            Shape(name: "qkv fwd", m: n, n: 3 * c, k: c, transA: false, transB: false),
            Shape(name: "qkv dW", m: c, n: 3 * c, k: n, transA: true, transB: false),
            Shape(name: "qkv dX", m: n, n: c, k: 3 * c, transA: false, transB: true),
            Shape(name: "fc fwd", m: n, n: 4 * c, k: c, transA: false, transB: false),
            Shape(name: "fcproj fwd", m: n, n: c, k: 4 * c, transA: false, transB: false),
            Shape(name: "fc dW", m: c, n: 4 * c, k: n, transA: true, transB: false),
            Shape(name: "fc dX", m: n, n: c, k: 4 * c, transA: false, transB: true),
            Shape(name: "lm_head fwd", m: n, n: vocab, k: c, transA: false, transB: true),
            Shape(name: "lm_head dW", m: vocab, n: c, k: n, transA: true, transB: false),
            Shape(name: "lm_head dX", m: n, n: c, k: vocab, transA: false, transB: false),
        ]
        let pool = WorkerPool.shared
        let blas = Blas.shared
        if threading == "library" { blas.setLibraryThreads(pool.threadCount) }
        var maxElems = 0
        for s in shapes { maxElems = max(maxElems, s.m * s.k, s.k * s.n, s.m * s.n) }
        let a = FloatBuffer(count: maxElems), b = FloatBuffer(count: maxElems), out = FloatBuffer(count: maxElems)
        for i in 0..<maxElems { a.base[i] = Float(i % 7) * 0.01; b.base[i] = Float(i % 5) * 0.01 }
        for i in shapes.indices {
            let s = shapes[i]
            var times: [Double] = []
            for _ in 0..<(reps + 1) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
                if threading == "library" {
                    blas.sgemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a.base, lda: lda,
                               b: b.base, ldb: ldb, beta: 0, c: out.base, ldc: s.n)
                } else {
                    gemm(precision: precision, transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a.base, lda: lda,
                         b: b.base, ldb: ldb, beta: 0, c: out.base, ldc: s.n, pool: pool)
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            let median = times.dropFirst().sorted()[reps / 2]
            shapes[i].gflops = 2 * Double(s.m * s.n * s.k) / median / 1e9
        }
        let backend = BF16Gemm.description(of: precision)
        if json {
            struct Out: Codable { let blas: String; let precision: Precision; let backend: String; let cpu: String; let threads: Int
                                  let threading: String; let shapes: [Shape] }
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(Out(blas: blas.description, precision: precision, backend: backend, cpu: CPUFeatures.host.summary,
                                                  threads: pool.threadCount, threading: threading, shapes: shapes)), encoding: .utf8)!)
        } else {
            print("\(precision.rawValue) on \(backend), \(pool.threadCount) threads, threading=\(threading); \(CPUFeatures.host.summary)")
            for s in shapes {
                print(String(format: "%-12@ %6d x %6d x %6d  %@%@  %7.1f GFLOP/s", s.name as NSString, s.m, s.n, s.k,
                             s.transA ? "T" : "N", s.transB ? "T" : "N", s.gflops))
            }
            let chosen = BF16Gemm.selection
            if precision == .bf16, let kernel = chosen.kernelGFLOPS, let emulated = chosen.emulatedGFLOPS {
                print(String(format: "bf16 backend chosen at start-up: micro-kernel %.1f vs emulated %.1f GFLOP/s (512 x 2304 x 768)",
                             kernel, emulated))
            }
        }
    }
}

struct BenchPeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak", abstract: "Measure the fp32 FMA and bf16 dot-product peaks (the MFU denominators) on the pool's threads.")
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        configureThreads(threads)
        let g = PeakFlops.measure()
        let bf16 = BF16Gemm.isSupported ? PeakFlops.measureBF16() : nil
        let cpu = CPUFeatures.host.summary
        if json {
            print("{\"peak_gflops\":\(g),\"bf16_peak_gflops\":\(bf16.map { "\($0)" } ?? "null"),\"threads\":\(WorkerPool.shared.threadCount),\"cpu\":\(JSONString.quoted(cpu))}")
        } else {
            print(String(format: "fp32 FMA peak: %.1f GFLOP/s on %d threads (%@)", g, WorkerPool.shared.threadCount, cpu))
            if let bf16 { print(String(format: "bf16 vdpbf16ps peak: %.1f GFLOP/s (%.2fx fp32)", bf16, bf16 / g)) }
            else { print("bf16: no AVX512-BF16 on this CPU; bf16 training computes on the fp32 units") }
        }
    }
}

extension Precision: ExpressibleByArgument {}
