import Foundation
import MonolithKernels
import MonolithModel
import MonolithParallel

extension Trainer {
    /// One optimizer step of a tensor- and/or pipeline-parallel shard, inside a data-parallel replica.
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
    ///    (and over the data-parallel slots under ZeRO); every rank clips with it.
    /// 5. AdamW on the local buffer (or its ZeRO slot), then the slots are all-gathered.
    func modelParallelStep(microBatches: [TokenBatch], context mp: ModelParallelContext,
                           dataParallel dp: DataParallelContext) throws -> StepStats {
        let shard = shard!, pool = shard.pool, layout = mp.layout
        let localRange = dp.localMicroBatches(of: microBatches.count)
        let local = Array(microBatches[localRange])
        // Dropout masks follow the global micro-batch index, as in the single process.
        shard.dropout = model.config.dropout
        shard.dropoutSeed = model.dropoutSeed
        let dropoutBase = model.dropoutStep + localRange.lowerBound
        let scale = 1 / Float(microBatches.count)
        let clock = CommunicationClock()
        let grads = shard.gradients, params = shard.parameters
        shard.zeroGradients()
        gradientShard?.zero(pool: pool)
        var lossSum: Float = 0
        if gradientShard != nil && layout.stages == 1 {
            for (k, mb) in local.enumerated() {
                lossSum += try runStage([mb], scale: scale, mp: mp, dropoutBase: dropoutBase + k)
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
            lossSum = try runStage(local, scale: scale, mp: mp, dropoutBase: dropoutBase, gradientsReady: ready)
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
        var squares = 0.0
        for r in layout.canonicalRanges {
            let lo = max(r.lowerBound, owned.lowerBound), hi = min(r.upperBound, owned.upperBound)
            if lo < hi { squares += Reduction.sumOfSquares(g + (lo - owned.lowerBound), count: hi - lo, pool: pool) }
        }
        if dp.zeroStage >= 1 { squares = try clock.time { try dp.group.allReduce(squares, op: .sum) } }
        squares = try clock.time { try mp.replica.allReduce(squares, op: .sum) }
        let norm = Float(squares.squareRoot())
        GradientClipping.scale(g, count: owned.count, norm: norm, maxNorm: gradClip, pool: pool)
        let lr = schedule.lr(at: step)
        optimizer.step(parameters: params.base + owned.lowerBound, gradients: g, lr: lr)
        if dp.zeroStage >= 1 {
            try clock.time {
                try ZeroCollectives.allGatherParameters(UnsafeMutableBufferPointer(start: params.base, count: params.count),
                                                        shards: dp.shards, group: dp.group)
            }
        }
        // The last stage's tensor ranks all computed the loss; count it once.
        let mine = layout.isLast(chunk: layout.virtualStages - 1) && layout.tensorRank == 0 ? lossSum : 0
        let replicaLoss = try clock.time { try mp.replica.allReduce(mine, op: .sum) }
        let globalLoss = try clock.time { try dp.group.allReduce(replicaLoss, op: .sum) }
        step += 1
        model.dropoutStep += microBatches.count
        lastCommunicationSeconds = clock.seconds
        return StepStats(loss: globalLoss * scale, gradNorm: norm, lr: lr)
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

    /// Seconds the last step's pipeline spent blocked on other stages (0 without model parallelism).
    public var lastPipelineWaitSeconds: Double { pipelineStage?.lastWaitSeconds ?? 0 }

    /// The stage (made once, so its activation sets are reused) with the plan for `microBatches`.
    private func pipeline(microBatches: Int, mp: ModelParallelContext) throws -> PipelineStage {
        let plan = try PipelineSchedule(stages: mp.layout.stages, microBatches: microBatches, virtualStages: mp.layout.virtualStages,
                                        stage: mp.layout.stage)
        if let stage = pipelineStage {
            if stage.schedule != plan { stage.schedule = plan }
            return stage
        }
        let stage = PipelineStage(shard: shard!, schedule: plan)
        pipelineStage = stage
        return stage
    }

    /// Bytes of activation sets the pipeline stage has allocated (its in-flight high-water mark).
    public var peakActivationBytes: Int { pipelineStage?.peakActivationBytes ?? 0 }

    /// The whole model, gathered from the shards of the first data-parallel replica onto its
    /// logging rank (tensor rank 0 of the last stage): a fresh inference-only ``GPT`` there, nil on
    /// every other rank. Every rank must call it. Without model parallelism, ``model`` itself.
    public func assembleFullModel() throws -> GPT? {
        guard let mp = modelParallel, let shard else { return model }
        guard dataParallel!.rank == 0 else { return nil }
        guard let weights = try gatherCanonical(shard.parameters.base, mp: mp) else { return nil }
        let full = try GPT(config: model.config, pool: model.pool, withGradients: false)
        full.dropoutSeed = model.dropoutSeed
        full.parameters.base.update(from: weights.base, count: model.layout.count)
        return full
    }

    /// Sends this rank's canonical elements (`local`, in its ``ShardLayout``) to the replica's
    /// logging rank, which places every rank's into a full-layout buffer and returns it; nil
    /// elsewhere. Point-to-point, so only the logging rank ever holds a full-sized buffer.
    private func gatherCanonical(_ local: UnsafeMutablePointer<Float>, mp: ModelParallelContext) throws -> FloatBuffer? {
        let L = mp.layout, tp = L.tensorParallel
        // Replica ranks are ordered tp fastest, then stage (ParallelGroups).
        let root = (L.stages - 1) * tp
        guard mp.replica.rank == root else {
            try mp.replica.send(UnsafeBufferPointer(start: local, count: L.count), to: root, tag: 7)
            return nil
        }
        let full = FloatBuffer(count: model.layout.count)
        L.scatter(local, into: full.base)
        for r in 0..<mp.replica.size where r != root {
            let theirs = ShardLayout(config: L.config, tensorParallel: tp, tensorRank: r % tp, stages: L.stages, stage: r / tp,
                                     virtualStages: L.virtualStages)
            let buffer = FloatBuffer(count: theirs.count)
            try mp.replica.receive(into: UnsafeMutableBufferPointer(start: buffer.base, count: theirs.count), from: r, tag: 7)
            theirs.scatter(buffer.base, into: full.base)
        }
        return full
    }

    /// Mean loss per token over `batches` through the shards, dropout off (a collective over every
    /// rank; every rank returns the result). Data-parallel replicas take every dp-th batch; a short
    /// last batch is padded with ignored targets.
    public func evaluateSharded(_ batches: [TokenBatch]) throws -> Float {
        guard let mp = modelParallel, let shard, let dp = dataParallel else { preconditionFailure("evaluateSharded needs model parallelism") }
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
        if let dp = dataParallel, dp.zeroStage >= 1 {
            let n = dp.shards.shardSize
            let m = FloatBuffer(count: dp.shards.paddedCount), v = FloatBuffer(count: dp.shards.paddedCount)
            for (part, out) in [(optimizer.m, m), (optimizer.v, v)] {
                try dp.group.allGather(UnsafeBufferPointer(start: part.base, count: n),
                                       into: UnsafeMutableBufferPointer(start: out.base, count: out.count))
            }
            local = (m, v)
        }
        guard let mp = modelParallel else { return local }
        guard dataParallel!.rank == 0 else { return nil }
        let src = local ?? (optimizer.m, optimizer.v)
        let m = try gatherCanonical(src.m.base, mp: mp), v = try gatherCanonical(src.v.base, mp: mp)
        guard let m, let v else { return nil }
        return (m, v)
    }

    /// Resumes from checkpoint `step` of `store`: the weights into ``model`` (and the shard), the
    /// moments into the optimizer (sliced for this rank's shard and ZeRO slot). Any layout resumes
    /// any checkpoint, since checkpoints are always in the full layout. A shard reads the files one
    /// tensor at a time and keeps its spans, never holding the whole model.
    public func restore(from store: CheckpointStore, step: Int) throws -> TrainerState {
        guard let mp = modelParallel, let shard else { return try store.load(step: step, model: model, optimizer: optimizer) }
        var byName: [String: [ShardLayout.Entry]] = [:]
        for e in mp.layout.entries { byName[e.name, default: []].append(e) }
        let range = optimizer.range
        let state = try store.load(step: step, config: model.config) { spec, weights, m, v in
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
