import Foundation
import MonolithKernels
import MonolithModel
import MonolithParallel

extension Trainer {
    /// The whole model, gathered from the shards of the first data-parallel replica onto its
    /// logging rank (tensor rank 0 of the last stage): a ``GPT`` there (the same one each time,
    /// allocated on first use), nil on every other rank. Every rank must call it.
    public func assembleFullModel() throws -> GPT? {
        guard dataParallel.rank == 0 else { return nil }
        guard assemblesOnThisRank else { try sendCanonical(shard.parameters.base); return nil }
        let target = try assembled ?? GPT(config: config, pool: pool)
        assembled = target
        try receiveCanonical(shard.parameters.base, into: target.parameters)
        return target
    }

    /// The replica rank that assembles: tensor rank 0 of the last stage (replica ranks are ordered
    /// tp fastest, then stage, as in ``ParallelGroups``).
    private var assemblyRoot: Int { (modelParallel.layout.stages - 1) * modelParallel.layout.tensorParallel }
    private var assemblesOnThisRank: Bool { modelParallel.replica.rank == assemblyRoot }

    /// Sends this rank's canonical elements (`local`, in its ``ShardLayout``) to the assembling rank.
    /// Point-to-point, so only that rank ever holds a full-sized buffer.
    private func sendCanonical(_ local: UnsafeMutablePointer<Float>) throws {
        let L = modelParallel.layout
        try modelParallel.replica.send(UnsafeBufferPointer(start: local, count: L.count), to: assemblyRoot, tag: 7)
    }

    /// On the assembling rank: places its own canonical elements and every other replica rank's
    /// into `full` (the Hugging Face layout).
    private func receiveCanonical(_ local: UnsafeMutablePointer<Float>, into full: FloatBuffer) throws {
        let mp = modelParallel, L = mp.layout, tp = L.tensorParallel
        full.zero(pool: pool)
        L.scatter(local, into: full.base)
        for r in 0..<mp.replica.size where r != assemblyRoot {
            let theirs = ShardLayout(config: L.config, tensorParallel: tp, tensorRank: r % tp, stages: L.stages, stage: r / tp,
                                     virtualStages: L.virtualStages)
            let buffer = FloatBuffer(count: theirs.count)
            try mp.replica.receive(into: UnsafeMutableBufferPointer(start: buffer.base, count: theirs.count), from: r, tag: 7)
            theirs.scatter(buffer.base, into: full.base)
        }
    }

    /// Mean loss per token over `batches` through the shards, dropout off (a collective over every
    /// rank; every rank returns the result). Data-parallel replicas take every dp-th batch; a short
    /// last batch is padded with ignored targets.
    public func evaluate(_ batches: [TokenBatch]) throws -> Float {
        let mp = modelParallel, dp = dataParallel
        // Evaluation walks its own chain; any valid plan will do (m = p suits interleaving too).
        let stage = try pipeline(microBatches: pipelineStage?.schedule.microBatches ?? mp.layout.stages, mp: mp)
        var sum = 0.0, count = 0.0
        let want = shard.batch * shard.seqLen
        for (k, b) in batches.enumerated() where k % dp.size == dp.rank {
            precondition(b.seqLen == shard.seqLen && b.batch <= shard.batch, "evaluation batches must fit the micro-batch shape")
            var ids = b.ids, targets = b.targets
            ids += [Int32](repeating: 0, count: want - ids.count)
            targets += [Int32](repeating: -1, count: want - targets.count)
            let r = try stage.evaluate(ids: ids, targets: targets, group: mp.pipeline)
            // The last stage's tensor ranks all hold the loss; count it once.
            if mp.layout.tensorRank == 0 { sum += r.sum; count += Double(r.count) }
        }
        var totals = [sum, count]
        try mp.replica.allReduce(&totals, op: .sum)
        try dp.group.allReduce(&totals, op: .sum)
        return Float(totals[0] / max(1, totals[1]))
    }

    /// The Adam moments in the full Hugging Face layout, for a checkpoint (a collective: every rank
    /// calls it). ZeRO slots are all-gathered over the data-parallel group and model-parallel
    /// shards gathered onto the logging rank; `nil` when the optimizer already holds the full
    /// layout, and on the ranks that do not write checkpoints under model parallelism.
    public func gatheredMoments() throws -> (m: FloatBuffer, v: FloatBuffer)? {
        var local: (m: FloatBuffer, v: FloatBuffer)? = nil
        let dp = dataParallel
        if dp.zeroStage >= 1 {
            let n = dp.shards.shardSize
            let m = FloatBuffer(count: dp.shards.paddedCount), v = FloatBuffer(count: dp.shards.paddedCount)
            for (part, out) in [(optimizer.m, m), (optimizer.v, v)] {
                try dp.group.allGather(UnsafeBufferPointer(start: part.base, count: n),
                                       into: UnsafeMutableBufferPointer(start: out.base, count: out.count))
            }
            local = (m, v)
        }
        guard dp.rank == 0 else { return nil }
        let src = local ?? (optimizer.m, optimizer.v)
        guard assemblesOnThisRank else {
            try sendCanonical(src.m.base)
            try sendCanonical(src.v.base)
            return nil
        }
        let count = ParameterLayout(config: config).count
        let full = assembledMoments ?? (FloatBuffer(count: count), FloatBuffer(count: count))
        assembledMoments = full
        try receiveCanonical(src.m.base, into: full.m)
        try receiveCanonical(src.v.base, into: full.v)
        return full
    }

    /// Resumes from checkpoint `step` of `store`: the weights into ``model`` (and the shard), the
    /// moments into the optimizer (sliced for this rank's shard and ZeRO slot). Any layout resumes
    /// any checkpoint, since checkpoints are always in the full layout. A shard reads the files one
    /// tensor at a time and keeps its spans, never holding the whole model.
    public func restore(from store: CheckpointStore, step: Int) throws -> TrainerState {
        let mp = modelParallel
        var byName: [String: [ShardLayout.Entry]] = [:]
        for e in mp.layout.entries { byName[e.name, default: []].append(e) }
        let range = optimizer.range
        let state = try store.load(step: step, config: config) { spec, weights, m, v in
            for e in byName[spec.name] ?? [] {
                for span in e.spans {
                    let from = span.full - spec.offset
                    weights.withUnsafeBufferPointer { (shard.parameters.base + span.local).update(from: $0.baseAddress! + from, count: span.count) }
                    // The part of the span inside this rank's ZeRO slot.
                    let lo = max(span.local, range.lowerBound), hi = min(span.local + span.count, range.upperBound)
                    guard lo < hi else { continue }
                    for (values, buffer) in [(m, optimizer.m), (v, optimizer.v)] {
                        values.withUnsafeBufferPointer {
                            (buffer.base + (lo - range.lowerBound)).update(from: $0.baseAddress! + from + (lo - span.local), count: hi - lo)
                        }
                    }
                }
            }
        }
        optimizer.setStepCount(state.optimizerSteps)
        return state
    }
}
