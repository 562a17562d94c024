import MonolithKernels
import MonolithModel
import MonolithParallel
import MonolithTraining
import Testing

/// The model-parallel trainer on in-process ranks (threads) against one process: tensor × pipeline ×
/// data layouts with ZeRO 0/1/2, interleaving, sequence parallelism, recompute and dropout give the
/// same losses, gradient norms and (assembled) weights. Gradient buckets of 4 KiB make the ZeRO-0
/// all-reduce start many buckets during backward, so a bucket launched before its gradients are
/// final would show.
@Suite("Model-parallel trainer")
struct ModelParallelTrainerTests {
    static let config = GPTConfig(nLayer: 4, nHead: 4, nEmbd: 32, vocabSize: 29, contextLength: 8)
    static let steps = 3, microBatches = 4, batch = 2, seq = 8

    static func batches(step: Int) -> [TokenBatch] {
        randomBatches(seed: UInt64(200 + step), count: microBatches, batch: batch, seqLen: seq, vocabulary: 29)
    }

    static func schedule() -> LRSchedule { LRSchedule(lr: 3e-3, minLR: 3e-4, warmupSteps: 1, decaySteps: 10) }
    /// ε 1e-6 rather than 1e-8: with ε near the size of a vanishing gradient (a hidden unit GELU
    /// keeps near zero), AdamW turns float-order noise into visibly different updates, which would
    /// hide the parallel arithmetic this test is about.
    static let adam = AdamWConfig(eps: 1e-6)

    static func reference(dropout: Float) throws -> (stats: [Float], weights: [Float]) {
        var cfg = config
        cfg.dropout = dropout
        let trainer = try Trainer(config: cfg, microBatch: (batch, seq), optimizer: adam, schedule: schedule(), gradClip: 0.5,
                                  parallel: try .single(model: cfg, microBatch: batch, seqLen: seq), pool: WorkerPool(threads: 1))
        trainer.shard.initializeWeights(seed: 7)
        trainer.dropoutSeed = 3
        var stats: [Float] = []
        for s in 0..<steps { let r = try trainer.step(microBatches: batches(step: s)); stats += [r.loss, r.gradNorm] }
        return (stats, try #require(try trainer.assembleFullModel()).parameters.toArray())
    }

    struct Layout: Sendable, CustomStringConvertible {
        var tp = 1, pp = 1, dp = 1, zero = 0, v = 1, sp = false, recompute = "none", dropout: Float = 0
        var description: String { "tp \(tp) pp \(pp) dp \(dp) zero \(zero) v \(v) sp \(sp) \(recompute) dropout \(dropout)" }
    }

    @Test("shards match one process", arguments: [
        Layout(tp: 2, dp: 2), Layout(pp: 2, dp: 2, v: 2), Layout(tp: 2, pp: 2), Layout(tp: 2, dp: 2, zero: 1, sp: true),
        Layout(pp: 2, dp: 2, zero: 2, recompute: "full"), Layout(tp: 2, pp: 2, dropout: 0.2), Layout(dp: 2, recompute: "selective"),
    ])
    func matchesSingleProcess(layout l: Layout) throws {
        let reference = try Self.reference(dropout: l.dropout)
        let results = try InProcessWorld(size: l.tp * l.pp * l.dp).run { world -> ([Float], [Float]?) in
            var cfg = Self.config
            cfg.dropout = l.dropout
            let section = ParallelSection(tp: l.tp, pp: l.pp, dp: l.dp, zero: l.zero, virtualStages: l.v, recompute: RecomputeMode(rawValue: l.recompute)!,
                                          sequenceParallel: l.sp)
            let runtime = try ParallelRuntime.make(world: world, section: section, model: cfg, microBatch: Self.batch,
                                                   globalBatch: Self.batch * Self.microBatches)
            let initial = try GPT(config: cfg, pool: WorkerPool(threads: 1))
            initial.initializeWeights(seed: 7)
            let trainer = try Trainer(config: cfg, microBatch: (Self.batch, Self.seq), optimizer: Self.adam, schedule: Self.schedule(),
                                      gradClip: 0.5, parallel: runtime, pool: initial.pool, gradientBucketBytes: 4096)
            trainer.shard.load(fullParameters: initial.parameters.base)
            trainer.dropoutSeed = 3
            var stats: [Float] = []
            for s in 0..<Self.steps { let r = try trainer.step(microBatches: Self.batches(step: s)); stats += [r.loss, r.gradNorm] }
            return (stats, try trainer.assembleFullModel()?.parameters.toArray())
        }
        let scale = reference.weights.map(abs).max()!
        // Exactly one rank (the logging rank: tp 0 of the last stage, dp 0) assembles the model.
        #expect(results.filter { $0.1 != nil }.count == 1, "\(l): \(results.filter { $0.1 != nil }.count) ranks assembled the model")
        for (stats, weights) in results {
            for (a, b) in zip(reference.stats, stats) { #expect(abs(a - b) <= 1e-5 * abs(a), "\(l): loss/norm \(a) vs \(b)") }
            if let weights {
                let diffs = zip(reference.weights, weights).map { abs($0 - $1) }
                let worst = diffs.max()!
                let at = diffs.firstIndex(of: worst)!
                let name = ParameterLayout(config: Self.config).tensors.last { $0.offset <= at }!
                #expect(worst <= 1e-5 * scale, "\(l): weights differ by \(worst) (max |w| \(scale)) at \(name.name)[\(at - name.offset)]")
            }
        }
    }
}
