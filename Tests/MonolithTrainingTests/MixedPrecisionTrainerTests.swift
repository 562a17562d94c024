import MonolithKernels
import MonolithModel
import MonolithParallel
import MonolithTraining
import Testing

/// bf16 and fp16 training on the single path: it follows fp32 within the rounding of the
/// operands, changes the result (the rounding is really applied), and fp16's loss scaler skips an
/// overflowed step by Megatron's rule and then trains on.
@Suite("Mixed-precision trainer")
struct MixedPrecisionTrainerTests {
    static let config = GPTConfig(nLayer: 2, nHead: 4, nEmbd: 32, vocabSize: 29, contextLength: 8)
    static let schedule = LRSchedule(lr: 3e-3, minLR: 3e-4, warmupSteps: 1, decaySteps: 10)

    static func trainer(_ precision: Precision, scaler: LossScaler = LossScaler()) throws -> Trainer {
        let parallel = try ParallelRuntime.single(model: config, microBatch: 2, seqLen: 8)
        let t = try Trainer(config: config, microBatch: (2, 8), optimizer: AdamWConfig(), schedule: schedule, gradClip: 1,
                            parallel: parallel, precision: precision, lossScaler: scaler, pool: WorkerPool(threads: 1))
        t.shard.initializeWeights(seed: 7)
        return t
    }

    static func batches(_ step: Int) -> [TokenBatch] {
        randomBatches(seed: UInt64(300 + step), count: 4, batch: 2, seqLen: 8, vocabulary: 29)
    }

    @Test("bf16 and fp16 losses stay within 2% of fp32 over 6 steps, and the weights differ", arguments: [Precision.bf16, .fp16])
    func followsFP32(_ precision: Precision) throws {
        let reference = try Self.trainer(.fp32), mixed = try Self.trainer(precision)
        for s in 0..<6 {
            let a = try reference.step(microBatches: Self.batches(s)), b = try mixed.step(microBatches: Self.batches(s))
            #expect(!b.skipped)
            #expect(abs(a.loss - b.loss) <= 0.02 * abs(a.loss), "step \(s): fp32 \(a.loss), \(precision) \(b.loss)")
        }
        let p = reference.shard.parameters, q = mixed.shard.parameters
        let differing = (0..<p.count).filter { p.base[$0] != q.base[$0] }.count
        #expect(differing > p.count / 2, "only \(differing) of \(p.count) weights differ from fp32: is the rounding applied?")
    }

    @Test("an fp16 overflow skips the step (no update, no Adam or schedule step), halves the scale, and training continues")
    func fp16Overflow() throws {
        // 2^40 overflows fp16's 65504 in the first backward: the scale must halve until it fits.
        let t = try Self.trainer(.fp16, scaler: LossScaler(initial: 0x1p40, window: 2))
        let params = t.shard.parameters
        let before = (0..<params.count).map { params.base[$0].bitPattern }
        let first = try t.step(microBatches: Self.batches(0))
        #expect(first.skipped)
        #expect(t.lossScaler?.scale == 0x1p39)
        #expect((0..<params.count).allSatisfy { params.base[$0].bitPattern == before[$0] }, "a skipped step changed the weights")
        #expect(t.optimizer.stepCount == 0)
        var steps = 1
        // Bounded, so a scaler that never halves fails here instead of looping for ever.
        while try t.step(microBatches: Self.batches(steps)).skipped {
            steps += 1
            try #require(steps < 40, "the scale never came down to a value that fits fp16")
        }
        steps += 1
        let scale = t.lossScaler!.scale
        // Each overflow halved the scale once; the first clean step used the scale that fits.
        #expect(Float(0x1p40) / scale == Float(1 << (steps - 1)))
        #expect(t.skippedSteps == steps - 1 && t.step == steps && t.optimizer.stepCount == 1)
        let clean = try t.step(microBatches: Self.batches(steps))
        #expect(!clean.skipped && clean.lr == Self.schedule.lr(at: 1), "the schedule resumes where the skips held it")
        #expect(t.lossScaler!.scale == 2 * scale, "two clean steps (the window) double the scale")
        #expect((0..<params.count).contains { params.base[$0].bitPattern != before[$0] })
    }

    @Test("the loss scaler halves on overflow, never below its minimum, and doubles after a window of clean steps")
    func scalerRule() {
        var s = LossScaler(initial: 8, window: 3, minimum: 2)
        s.update(overflow: true); #expect(s.scale == 4)
        s.update(overflow: true); s.update(overflow: true); #expect(s.scale == 2)
        s.update(overflow: false); s.update(overflow: false); #expect(s.scale == 2)
        s.update(overflow: false); #expect(s.scale == 4 && s.cleanSteps == 0)
        s.update(overflow: false); s.update(overflow: true); #expect(s.scale == 2 && s.cleanSteps == 0)
    }
}
