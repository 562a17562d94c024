import Foundation
import MonolithKernels
import MonolithModel
import MonolithParallel

extension Trainer {
    /// One optimizer step of a data-parallel replica (see ``DataParallelContext`` for the split).
    ///
    /// - ZeRO 0: the full gradient is all-reduced in buckets, every rank clips and runs AdamW on
    ///   everything (the same arithmetic on every rank keeps the replicas identical).
    /// - ZeRO 1: the accumulated gradient is reduce-scattered once; each rank clips with the global
    ///   norm (the slot sums of squares all-reduced), runs AdamW on its slot, and the parameters are
    ///   all-gathered.
    /// - ZeRO 2: the gradient is reduce-scattered after every micro-batch into a slot-sized
    ///   accumulator, so no full-length gradient has to survive between micro-batches.
    func dataParallelStep(microBatches: [TokenBatch], context dp: DataParallelContext) throws -> StepStats {
        let local = dp.localMicroBatches(of: microBatches.count)
        let scale = 1 / Float(microBatches.count)
        let grads = model.gradients, params = model.parameters, pool = model.pool
        var comm = 0.0
        func timed<R>(_ body: () throws -> R) rethrows -> R {
            let t0 = DispatchTime.now().uptimeNanoseconds
            defer { comm += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            return try body()
        }
        let full = UnsafeMutableBufferPointer(start: grads.base, count: grads.count)
        let slot = dp.shards.slot(of: dp.rank), owned = dp.shards.range(of: dp.rank)
        model.training = true
        model.zeroGradients()
        gradientShard?.zero(pool: pool)
        // Dropout masks follow the global micro-batch index, as in the single process.
        let firstDropoutStep = model.dropoutStep
        model.dropoutStep = firstDropoutStep + local.lowerBound
        var lossSum: Float = 0
        var overlapError: (any Error)? = nil
        let allReduceBuffer = UnsafeMutableBufferPointer(start: grads.base, count: model.layout.count)
        let shard = try tensorShard(for: microBatches[0], context: dp)
        if let pipe = dp.pipeline {
            lossSum = try pipelineMicroBatches(Array(microBatches[local]), pipe: pipe, scale: scale, timed: timed)
            if gradientShard != nil { try reduceScatterMicroBatch(dp, timed: timed) }
        }
        for (k, mb) in microBatches[local].enumerated() where dp.pipeline == nil {
            if let shard {
                lossSum += try tensorParallelMicroBatch(mb, shard: shard, scale: scale, collect: dp.zeroStage == 2, timed: timed)
                model.dropoutStep += 1
                if gradientShard != nil { try reduceScatterMicroBatch(dp, timed: timed) }
                continue
            }
            let loss = try mb.ids.withUnsafeBufferPointer { ids in
                try mb.targets.withUnsafeBufferPointer { tg in
                    try model.forward(ids: ids.baseAddress!, targets: tg.baseAddress!, batch: mb.batch, seqLen: mb.seqLen)!
                }
            }
            // ZeRO 0: during the last micro-batch's backward, each finished bucket's all-reduce
            // starts while the lower layers are still computing (earlier micro-batches still change
            // every gradient, so they cannot overlap).
            if let buckets, k == local.count - 1 {
                model.backward(lossScale: scale) { offset in
                    guard overlapError == nil else { return }  // the error is rethrown after backward
                    do { try timed { try buckets.gradientsReady(from: offset, in: allReduceBuffer) } } catch { overlapError = error }
                }
                if let overlapError { throw overlapError }
            } else {
                model.backward(lossScale: scale)
            }
            model.dropoutStep += 1
            lossSum += loss
            if gradientShard != nil { try reduceScatterMicroBatch(dp, timed: timed) }
        }
        if let shard, dp.zeroStage < 2 { try collectTensorGradients(shard, timed: timed) }
        model.dropoutStep = firstDropoutStep + microBatches.count
        let lr = schedule.lr(at: step)
        let norm: Float
        if dp.zeroStage == 0 {
            try timed { try buckets?.wait(allReduceBuffer) }
            norm = GradientClipping.clip(grads, maxNorm: gradClip, pool: pool)
            optimizer.step(parameters: params, gradients: grads, lr: lr)
        } else {
            if dp.zeroStage == 1 {
                try timed { try ZeroCollectives.reduceScatterGradients(full, shards: dp.shards, group: dp.group) }
            }
            // The owned gradients: in place in the full buffer (ZeRO 1) or in the shard (ZeRO 2).
            let g = gradientShard?.base ?? grads.base + slot.lowerBound
            let local = Reduction.sumOfSquares(g, count: owned.count, pool: pool)
            let total = try timed { try dp.group.allReduce(local, op: .sum) }
            norm = Float(total.squareRoot())
            if gradClip > 0 {
                let coef = gradClip / (norm + 1e-6)
                if coef < 1 { Reduction.scale(g, count: owned.count, by: coef, pool: pool) }
            }
            optimizer.step(parameters: params.base + owned.lowerBound, gradients: g, lr: lr)
            try timed {
                try ZeroCollectives.allGatherParameters(UnsafeMutableBufferPointer(start: params.base, count: params.count),
                                                        shards: dp.shards, group: dp.group)
            }
        }
        let globalLoss = try timed { try dp.group.allReduce(lossSum, op: .sum) }
        step += 1
        lastCommunicationSeconds = comm
        return StepStats(loss: globalLoss * scale, gradNorm: norm, lr: lr)
    }

    /// Runs this replica's micro-batches through the pipeline; the gradient buffer then holds the
    /// full gradient (summed over stages) and the result is the summed loss, known on every stage.
    private func pipelineMicroBatches(_ batches: [TokenBatch], pipe: (group: any Communicator, grid: ProcessGrid, virtualStages: Int),
                                      scale: Float, timed: (() throws -> Void) throws -> Void) throws -> Float {
        let first = batches[0]
        if pipelineStage == nil || pipelineStage!.schedule.microBatches != batches.count {
            guard model.config.dropout == 0 else {
                throw ConfigError(field: "model.dropout", "pipeline parallelism needs dropout 0 for now, got \(model.config.dropout)")
            }
            let plan = try PipelineSchedule(stages: pipe.group.size, microBatches: batches.count, virtualStages: pipe.virtualStages,
                                            stage: pipe.group.rank)
            pipelineStage = PipelineStage(model: model, grid: pipe.grid, schedule: plan, batch: first.batch, seqLen: first.seqLen)
        }
        let stage = pipelineStage!
        try stage.run(ids: batches.map(\.ids), targets: batches.map(\.targets), lossScale: scale, group: pipe.group)
        // Every stage filled only its own gradients (both ends the tied wte): their sum is the whole.
        try timed { try pipe.group.allReduce(UnsafeMutableBufferPointer(start: model.gradients.base, count: model.layout.count), op: .sum) }
        return try pipe.group.allReduce(stage.lossSum, op: .sum)
    }

    /// ZeRO 2: reduce-scatters the micro-batch's full gradient into this rank's slot accumulator.
    private func reduceScatterMicroBatch(_ dp: DataParallelContext, timed: (() throws -> Void) throws -> Void) throws {
        let grads = model.gradients, slot = dp.shards.slot(of: dp.rank)
        try timed {
            try ZeroCollectives.reduceScatterGradients(UnsafeMutableBufferPointer(start: grads.base, count: grads.count),
                                                       shards: dp.shards, group: dp.group)
        }
        let src = grads.base + slot.lowerBound, dst = gradientShard!.base
        for i in 0..<slot.count { dst[i] += src[i] }
        model.zeroGradients()
    }

    /// The tensor-parallel shard for batches shaped like `batch` (nil without tensor parallelism),
    /// loaded with the current (replicated) weights.
    private func tensorShard(for batch: TokenBatch, context dp: DataParallelContext) throws -> TensorParallelGPT? {
        guard let group = dp.tensor else { return nil }
        if tensorShard == nil || tensorShard!.batch != batch.batch || tensorShard!.seqLen != batch.seqLen {
            guard model.config.dropout == 0 else {
                throw ConfigError(field: "model.dropout", "tensor parallelism needs dropout 0 for now, got \(model.config.dropout)")
            }
            tensorShard = TensorParallelGPT(config: model.config, group: group, batch: batch.batch, seqLen: batch.seqLen, pool: model.pool)
        }
        tensorShard!.load(from: model)
        tensorShard!.zeroGradients()
        return tensorShard
    }

    /// Forward and backward of one micro-batch on the tensor-parallel shard; returns its loss.
    /// With `collect`, the shard gradients are summed into the full gradient right away (ZeRO 2).
    private func tensorParallelMicroBatch(_ mb: TokenBatch, shard: TensorParallelGPT, scale: Float, collect: Bool,
                                          timed: (() throws -> Void) throws -> Void) throws -> Float {
        let loss = try shard.forward(ids: mb.ids, targets: mb.targets)
        try shard.backward(lossScale: scale)
        if collect { try collectTensorGradients(shard, timed: timed) }
        return loss
    }

    /// Sums every tensor rank's shard gradients into the full gradient buffer (replicated tensors
    /// counted once), all-reduced over the tensor group, and clears the shard gradients.
    private func collectTensorGradients(_ shard: TensorParallelGPT, timed: (() throws -> Void) throws -> Void) throws {
        model.zeroGradients()
        shard.addGradients(into: model.gradients.base, layout: model.layout)
        try timed { try shard.group.allReduce(UnsafeMutableBufferPointer(start: model.gradients.base, count: model.layout.count), op: .sum) }
        shard.zeroGradients()
    }

    /// The full-length Adam moments, all-gathered from the ZeRO shards (a collective: every rank of
    /// the data-parallel group must call it); `nil` when the optimizer is not sharded.
    public func gatheredMoments() throws -> (m: FloatBuffer, v: FloatBuffer)? {
        guard let dp = dataParallel, dp.zeroStage >= 1 else { return nil }
        let n = dp.shards.shardSize
        let m = FloatBuffer(count: dp.shards.paddedCount), v = FloatBuffer(count: dp.shards.paddedCount)
        for (shard, out) in [(optimizer.m, m), (optimizer.v, v)] {
            try dp.group.allGather(UnsafeBufferPointer(start: shard.base, count: n),
                                   into: UnsafeMutableBufferPointer(start: out.base, count: out.count))
        }
        return (m, v)
    }
}
