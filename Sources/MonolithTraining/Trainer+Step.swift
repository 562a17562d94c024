import Foundation
import MonolithKernels
import MonolithModel
import MonolithParallel

extension Trainer {
    /// Accumulates gradients over `microBatches` (each loss scaled by 1/count), clips, and updates.
    ///
    /// `microBatches` is the *global* batch (identical on every rank); data-parallel rank `r` runs
    /// its contiguous slice, and the result equals the single-process step. With one rank in every
    /// group each collective below is a no-op and this is plain gradient accumulation.
    ///
    /// 1. This replica's micro-batches run through the ``PipelineStage`` (1F1B or interleaved; with
    ///    one stage simply forward then backward per micro-batch), accumulating into the shard's
    ///    local gradients; with sequence parallelism the replicated tensors' partial gradients are
    ///    summed over the tensor group. Under ZeRO 2 with one stage, each micro-batch is
    ///    reduce-scattered at once.
    /// 2. The two copies of the tied embedding (first and last stage) sum their gradients over the
    ///    embedding group, so both take the same update.
    /// 3. Data parallelism as for a whole model: bucketed all-reduce overlapped with the last
    ///    micro-batch's backward (ZeRO 0) or reduce-scatter (1, 2).
    /// 4. The global norm sums each rank's canonical elements (``ShardLayout``) over the replica
    ///    (and over the data-parallel slots under ZeRO); every rank clips with it. A NaN or
    ///    infinite norm throws ``NonFiniteGradientError`` on every rank before anything is updated,
    ///    or with ``skipNonFinite`` skips the update on every rank.
    /// 5. AdamW on the local buffer (or its ZeRO slot), then the slots are all-gathered.
    public func step(microBatches: [TokenBatch]) throws -> StepStats {
        precondition(!microBatches.isEmpty, "a step needs at least one micro-batch")
        let mp = modelParallel, dp = dataParallel, pool = shard.pool, layout = mp.layout
        let localRange = dp.localMicroBatches(of: microBatches.count)
        let local = Array(microBatches[localRange])
        // Dropout masks follow the global micro-batch index, as in the single process.
        shard.dropout = config.dropout
        shard.dropoutSeed = dropoutSeed
        let dropoutBase = dropoutStep + localRange.lowerBound
        let scale = 1 / Float(microBatches.count)
        // fp16: the loss gradient is multiplied by the loss scale, the gradients divided by it when clipped.
        let lossScale = lossScaler?.scale ?? 1
        let backwardScale = scale * lossScale
        let clock = CommunicationClock()
        let grads = shard.gradients, params = shard.parameters
        shard.zeroGradients()
        gradientShard?.zero(pool: pool)
        var lossSum: Float = 0
        if gradientShard != nil && layout.stages == 1 {
            for (k, mb) in local.enumerated() {
                lossSum += try runStage([mb], scale: backwardScale, mp: mp, dropoutBase: dropoutBase + k)
                if mp.sequenceParallel { try clock.time { try sumReplicatedGradients(grads, mp: mp) } }
                try reduceScatterMicroBatch(dp, gradients: grads, clock: clock)
            }
        } else {
            // ZeRO 0: each bucket's all-reduce starts as soon as the last micro-batch's backward has
            // finished it (sums over dp, tp and the embedding group commute, so the sequence-parallel
            // and tied-embedding sums can follow).
            let all = UnsafeMutableBufferPointer(start: grads.base, count: layout.count)
            var overlapError: (any Error)? = nil
            var ready: ((Int) -> Void)? = nil
            if let buckets {
                ready = { offset in
                    guard overlapError == nil else { return }  // rethrown after the stage
                    do { try buckets.gradientsReady(from: offset, in: all) } catch { overlapError = error }
                }
            }
            lossSum = try runStage(local, scale: backwardScale, mp: mp, dropoutBase: dropoutBase, gradientsReady: ready)
            if let overlapError { throw overlapError }
            if let buckets { try clock.time { try buckets.wait(all) } }
            if mp.sequenceParallel { try clock.time { try sumReplicatedGradients(grads, mp: mp) } }
            if gradientShard != nil { try reduceScatterMicroBatch(dp, gradients: grads, clock: clock) }
        }
        // Before ZeRO splits the buffer: the tied copies are in the full-length gradient.
        if let emb = mp.embedding, let tied = layout.tiedEmbedding, gradientShard == nil {
            try clock.time { try emb.allReduce(UnsafeMutableBufferPointer(start: grads.base + tied.lowerBound, count: tied.count), op: .sum) }
        }
        let owned = dp.zeroStage >= 1 ? dp.shards.range(of: dp.rank) : 0..<layout.count
        if dp.zeroStage == 1 {
            try clock.time { try ZeroCollectives.reduceScatterGradients(UnsafeMutableBufferPointer(start: grads.base, count: grads.count),
                                                                   shards: dp.shards, group: dp.group) }
        }
        // The owned gradients: everything (ZeRO 0), in place in the local buffer (1), or the slot accumulator (2).
        let g = gradientShard?.base ?? grads.base + owned.lowerBound
        if let emb = mp.embedding, let tied = layout.tiedEmbedding, gradientShard != nil {
            // ZeRO 2 keeps only the slot: sum the tied rows that fall in it. The first and last
            // stages' local layouts differ, so both sides exchange their whole tied range, zero
            // outside the slot (each side's rows land in its own slot on every data-parallel rank).
            let part = FloatBuffer(count: tied.count)
            let lo = max(tied.lowerBound, owned.lowerBound), hi = min(tied.upperBound, owned.upperBound)
            if lo < hi { (part.base + (lo - tied.lowerBound)).update(from: g + (lo - owned.lowerBound), count: hi - lo) }
            try clock.time { try dp.group.allReduce(UnsafeMutableBufferPointer(start: part.base, count: tied.count), op: .sum) }
            try clock.time { try emb.allReduce(UnsafeMutableBufferPointer(start: part.base, count: tied.count), op: .sum) }
            if lo < hi { (g + (lo - owned.lowerBound)).update(from: part.base + (lo - tied.lowerBound), count: hi - lo) }
        }
        if faultNaNAtStep == step,
           let r = layout.canonicalRanges.first(where: { $0.upperBound > owned.lowerBound && $0.lowerBound < owned.upperBound }) {
            g[max(r.lowerBound, owned.lowerBound) - owned.lowerBound] = .nan
        }
        var squares = 0.0
        for r in layout.canonicalRanges {
            let lo = max(r.lowerBound, owned.lowerBound), hi = min(r.upperBound, owned.upperBound)
            if lo < hi { squares += Reduction.sumOfSquares(g + (lo - owned.lowerBound), count: hi - lo, pool: pool) }
        }
        if dp.zeroStage >= 1 { squares = try clock.time { try dp.group.allReduce(squares, op: .sum) } }
        squares = try clock.time { try mp.replica.allReduce(squares, op: .sum) }
        // fp16: the gradients still carry the loss scale; the clipping pass below removes it.
        let norm = Float(squares.squareRoot()) / lossScale
        let lr = schedule.lr(at: step - skippedSteps)
        // Every rank throws or skips at the same step, as Megatron all-reduces its inf/nan flag. The
        // norm is reduced over the replica, and over dp under ZeRO; under ZeRO 0 each replica took
        // it from gradients already all-reduced, so only a fault after that reduction could make
        // replicas disagree, and the flag is reduced over dp explicitly.
        var finite = norm.isFinite
        if dp.zeroStage == 0 && dp.group.size > 1 {
            finite = try clock.time { try dp.group.allReduce(Float(finite ? 0 : 1), op: .max) } == 0
        }
        lossScaler?.update(overflow: !finite)
        if !finite && !skipNonFinite && lossScaler == nil {
            throw NonFiniteGradientError(step: step, rank: "data-parallel rank \(dp.rank), stage \(layout.stage), tensor rank \(layout.tensorRank)",
                                         norm: norm, tensor: NonFiniteGradientError.firstNonFinite(g, owned: owned, layout: layout))
        }
        if finite {
            GradientClipping.scale(g, count: owned.count, norm: norm, maxNorm: gradClip, lossScale: lossScale, pool: pool)
            optimizer.step(parameters: params.base + owned.lowerBound, gradients: g, lr: lr)
            if dp.zeroStage >= 1 {
                try clock.time {
                    try ZeroCollectives.allGatherParameters(UnsafeMutableBufferPointer(start: params.base, count: params.count),
                                                            shards: dp.shards, group: dp.group)
                }
            }
        } else {
            skippedSteps += 1
        }
        // The last stage's tensor ranks all computed the loss; count it once.
        let mine = layout.isLast(chunk: layout.virtualStages - 1) && layout.tensorRank == 0 ? lossSum : 0
        let replicaLoss = try clock.time { try mp.replica.allReduce(mine, op: .sum) }
        let globalLoss = try clock.time { try dp.group.allReduce(replicaLoss, op: .sum) }
        step += 1
        dropoutStep += microBatches.count
        lastCommunicationSeconds = clock.seconds
        return StepStats(loss: globalLoss * scale, gradNorm: norm, lr: lr, skipped: !finite)
    }

    /// Sequence parallelism: each tensor rank saw only its rows in the LayerNorm/residual regions, so
    /// the gradients of the tensors every rank holds whole (LayerNorms, row-parallel biases,
    /// positions) are partial; sum them over the tensor group (Megatron's
    /// `allreduce_sequence_parallel_grads`), packed into one buffer.
    private func sumReplicatedGradients(_ grads: FloatBuffer, mp: ModelParallelContext) throws {
        let ranges = mp.layout.replicatedRanges
        var packed = [Float](repeating: 0, count: ranges.map(\.count).reduce(0, +))
        var k = 0
        for r in ranges { for i in r { packed[k] = grads.base[i]; k += 1 } }
        try mp.tensor.allReduce(&packed, op: .sum)
        k = 0
        for r in ranges { for i in r { grads.base[i] = packed[k]; k += 1 } }
    }

    /// Runs `batches` through this stage's plan; returns the summed micro-batch losses (last stage).
    private func runStage(_ batches: [TokenBatch], scale: Float, mp: ModelParallelContext, dropoutBase: Int,
                          gradientsReady: ((Int) -> Void)? = nil) throws -> Float {
        let stage = try pipeline(microBatches: batches.count, mp: mp)
        try stage.run(ids: batches.map(\.ids), targets: batches.map(\.targets), lossScale: scale, group: mp.pipeline,
                      dropoutBase: dropoutBase, gradientsReady: gradientsReady)
        return stage.lossSum
    }

    /// Seconds the last step's pipeline spent blocked on other stages (0 with one stage).
    public var lastPipelineWaitSeconds: Double { pipelineStage?.lastWaitSeconds ?? 0 }

    /// The stage (made once, so its activation sets are reused) with the plan for `microBatches`.
    func pipeline(microBatches: Int, mp: ModelParallelContext) throws -> PipelineStage {
        let plan = try PipelineSchedule(stages: mp.layout.stages, microBatches: microBatches, virtualStages: mp.layout.virtualStages,
                                        stage: mp.layout.stage)
        if let stage = pipelineStage {
            if stage.schedule != plan { stage.schedule = plan }
            return stage
        }
        let stage = PipelineStage(shard: shard, schedule: plan)
        pipelineStage = stage
        return stage
    }

    /// Bytes of activation sets the pipeline stage has allocated (its in-flight high-water mark).
    public var peakActivationBytes: Int { pipelineStage?.peakActivationBytes ?? 0 }


    /// ZeRO 2: reduce-scatters the micro-batch's gradient (the shard's padded flat buffer) into this
    /// rank's slot accumulator, and zeroes it for the next one.
    func reduceScatterMicroBatch(_ dp: DataParallelContext, gradients grads: FloatBuffer, clock: CommunicationClock) throws {
        let slot = dp.shards.slot(of: dp.rank)
        try clock.time {
            try ZeroCollectives.reduceScatterGradients(UnsafeMutableBufferPointer(start: grads.base, count: grads.count),
                                                       shards: dp.shards, group: dp.group)
        }
        let src = grads.base + slot.lowerBound, dst = gradientShard!.base
        for i in 0..<slot.count { dst[i] += src[i] }
        grads.zero(pool: pool)
    }
}
