import MonolithKernels
import MonolithModel
import MonolithParallel
import MonolithTraining
import Testing

/// Data-parallel training on in-process ranks (threads) against one process: the same losses,
/// gradient norms and weights after several steps, for ZeRO 0, 1 and 2 and dp 2 and 4.
@Suite("Data-parallel trainer")
struct DataParallelTrainerTests {
    static let config = GPTConfig(nLayer: 2, nHead: 4, nEmbd: 32, vocabSize: 29, contextLength: 8)
    static let steps = 4, microBatches = 4, batch = 2, seq = 8

    /// The same global batches for every rank and for the reference.
    static func batches(step: Int) -> [TokenBatch] {
        randomBatches(seed: UInt64(100 + step), count: microBatches, batch: batch, seqLen: seq, vocabulary: 29)
    }

    /// Runs the steps on `world` (nil: one process); returns the per-step (loss, norm) and the
    /// final weights of this rank's replica.
    static let schedule = LRSchedule(lr: 3e-3, minLR: 3e-4, warmupSteps: 1, decaySteps: 10)

    /// A trainer for this rank of `world` (nil: one process), data parallel over the whole world,
    /// its weights initialized the same on every rank.
    static func trainer(world: (any Communicator)?, zero: Int) throws -> Trainer {
        let parallel = try world.map {
            try ParallelRuntime.make(world: $0, section: ParallelSection(dp: $0.size, zero: zero), model: config, microBatch: batch,
                                     globalBatch: batch * microBatches, seqLen: seq)
        } ?? ParallelRuntime.single(model: config, microBatch: batch, seqLen: seq)
        // One pool per rank: the ranks are threads of one process and must not share workers.
        let trainer = try Trainer(config: config, microBatch: (batch, seq), optimizer: AdamWConfig(), schedule: schedule,
                                  gradClip: 0.5, parallel: parallel, pool: WorkerPool(threads: 1))
        trainer.shard.initializeWeights(seed: 7)
        return trainer
    }

    static func train(world: (any Communicator)?, zero: Int = 0) throws -> (stats: [Float], weights: [Float]) {
        let trainer = try trainer(world: world, zero: zero)
        var stats: [Float] = []
        for s in 0..<steps {
            let r = try trainer.step(microBatches: batches(step: s))
            stats += [r.loss, r.gradNorm]
        }
        return (stats, trainer.shard.layout.fullLayout(trainer.shard.parameters.base))
    }

    @Test("dp ranks match one process", arguments: [(2, 0), (2, 1), (2, 2), (4, 0), (4, 1), (4, 2)])
    func matchesSingleProcess(dp: Int, zero: Int) throws {
        let reference = try Self.train(world: nil)
        let results = try InProcessWorld(size: dp).run { comm in try Self.train(world: comm, zero: zero) }
        let scale = reference.weights.map(abs).max()!
        for result in results {
            for (a, b) in zip(reference.stats, result.stats) { #expect(abs(a - b) <= 1e-5 * abs(a), "loss/norm \(a) vs \(b)") }
            let worst = zip(reference.weights, result.weights).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * scale, "weights differ by \(worst) (max |w| \(scale))")
        }
        // Every replica holds the same weights after the all-gather / identical updates.
        for result in results.dropFirst() { #expect(result.weights == results[0].weights) }
    }

    @Test("a NaN on one rank stops every rank before the update, naming the step, the rank and a tensor", arguments: [0, 1, 2])
    func nonFiniteGradient(zero: Int) throws {
        let outcomes = try InProcessWorld(size: 2).run { comm -> (NonFiniteGradientError?, Bool) in
            let trainer = try Self.trainer(world: comm, zero: zero)
            _ = try trainer.step(microBatches: Self.batches(step: 0))
            let params = trainer.shard.parameters
            // One weight of rank 1's replica goes bad: its loss and gradients turn NaN.
            if comm.rank == 1 { params.base[trainer.shard.layout.entries.first { $0.name.hasSuffix("mlp.c_fc.weight") }!.range.lowerBound] = .nan }
            let before = (0..<params.count).map { params.base[$0].bitPattern }
            do {
                _ = try trainer.step(microBatches: Self.batches(step: 1))
                return (nil, false)
            } catch let e as NonFiniteGradientError {
                return (e, (0..<params.count).allSatisfy { params.base[$0].bitPattern == before[$0] })
            }
        }
        for (rank, (error, unchanged)) in outcomes.enumerated() {
            #expect(error?.step == 1, "rank \(rank) did not stop at step 2")
            #expect(unchanged, "rank \(rank) changed its weights")
            #expect(error?.description.contains("data-parallel rank \(rank)") == true)
        }
        #expect(outcomes[1].0?.tensor != nil, "rank 1 names no tensor")
    }

    @Test("with skip_nonfinite every rank skips the same step: batch consumed, no update, no Adam or schedule step", arguments: [0, 2])
    func skipNonFinite(zero: Int) throws {
        let outcomes = try InProcessWorld(size: 2).run { comm -> [Bool] in
            let trainer = try Self.trainer(world: comm, zero: zero)
            trainer.skipNonFinite = true
            _ = try trainer.step(microBatches: Self.batches(step: 0))
            let params = trainer.shard.parameters
            let before = (0..<params.count).map { params.base[$0].bitPattern }
            // Rank 1's gradients turn NaN at the second step (the trainer's fault hook).
            if comm.rank == 1 { trainer.faultNaNAtStep = 1 }
            let dropoutBefore = trainer.dropoutStep
            let skipped = try trainer.step(microBatches: Self.batches(step: 1))
            let unchanged = (0..<params.count).allSatisfy { params.base[$0].bitPattern == before[$0] }
            let next = try trainer.step(microBatches: Self.batches(step: 2))
            return [skipped.skipped, comm.rank == 0 || !skipped.gradNorm.isFinite, unchanged, trainer.step == 3, trainer.skippedSteps == 1,
                    trainer.optimizer.stepCount == 2, trainer.dropoutStep == dropoutBefore + 2 * Self.microBatches,
                    next.lr == Self.schedule.lr(at: 1), !next.skipped && next.gradNorm.isFinite]
        }
        let names = ["skipped", "rank 1's norm not finite", "weights unchanged", "step counted", "skip counted", "no Adam step",
                     "batch consumed", "schedule held", "training continues"]
        for (rank, facts) in outcomes.enumerated() {
            for (name, fact) in zip(names, facts) { #expect(fact, "rank \(rank): \(name)") }
        }
    }

    /// Expected bytes from the ZeRO paper (Rajbhandari et al. 2020, §5.1 and Figure 1), for fp32
    /// training where each of Ψ parameters has a 4-byte weight, a 4-byte gradient and K = 8 bytes of
    /// Adam moments: P_os keeps (4 + 4)Ψ + 8Ψ/N_d per rank, P_os+g keeps 4Ψ + (4 + 8)Ψ/N_d; the
    /// weights are never partitioned below stage 3.
    @Test("ZeRO memory per rank follows the paper's formulas", arguments: [(1, 0), (1, 2), (4, 0), (4, 1), (4, 2), (8, 2)])
    func memory(dp: Int, stage: Int) {
        let psi = 1 << 20  // divides into equal, aligned slots for every dp here, so no padding
        let m = ZeroShards.memoryPerRank(parameters: psi, dataParallel: dp, stage: stage)
        let optimizer = stage >= 1 ? 8 * psi / dp : 8 * psi
        let gradients = stage >= 2 ? 4 * psi / dp : 4 * psi
        #expect(m.parameters == 4 * psi && m.gradients == gradients && m.optimizer == optimizer, "dp \(dp) stage \(stage): \(m)")
    }
}

/// `count` micro-batches of uniformly random ids and targets below `vocabulary`, a function of `seed`
/// (so every in-process rank and the single-process reference draw the same global batch).
func randomBatches(seed: UInt64, count: Int, batch: Int, seqLen: Int, vocabulary: Int) -> [TokenBatch] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        let ids = (0..<batch * seqLen).map { _ in Int32(rng.next() % UInt64(vocabulary)) }
        let targets = (0..<batch * seqLen).map { _ in Int32(rng.next() % UInt64(vocabulary)) }
        return TokenBatch(ids: ids, targets: targets, batch: batch, seqLen: seqLen)
    }
}
