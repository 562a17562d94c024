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
        let clock = CommunicationClock()
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
        for (k, mb) in microBatches[local].enumerated() {
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
                    do { try clock.time { try buckets.gradientsReady(from: offset, in: allReduceBuffer) } } catch { overlapError = error }
                }
                if let overlapError { throw overlapError }
            } else {
                model.backward(lossScale: scale)
            }
            model.dropoutStep += 1
            lossSum += loss
            if gradientShard != nil { try reduceScatterMicroBatch(dp, gradients: grads, clock: clock) }
        }
        model.dropoutStep = firstDropoutStep + microBatches.count
        let lr = schedule.lr(at: step)
        let norm: Float
        if dp.zeroStage == 0 {
            try clock.time { try buckets?.wait(allReduceBuffer) }
            norm = GradientClipping.clip(grads, maxNorm: gradClip, pool: pool)
            optimizer.step(parameters: params, gradients: grads, lr: lr)
        } else {
            if dp.zeroStage == 1 {
                try clock.time { try ZeroCollectives.reduceScatterGradients(full, shards: dp.shards, group: dp.group) }
            }
            // The owned gradients: in place in the full buffer (ZeRO 1) or in the shard (ZeRO 2).
            let g = gradientShard?.base ?? grads.base + slot.lowerBound
            let local = Reduction.sumOfSquares(g, count: owned.count, pool: pool)
            let total = try clock.time { try dp.group.allReduce(local, op: .sum) }
            norm = Float(total.squareRoot())
            GradientClipping.scale(g, count: owned.count, norm: norm, maxNorm: gradClip, pool: pool)
            optimizer.step(parameters: params.base + owned.lowerBound, gradients: g, lr: lr)
            try clock.time {
                try ZeroCollectives.allGatherParameters(UnsafeMutableBufferPointer(start: params.base, count: params.count),
                                                        shards: dp.shards, group: dp.group)
            }
        }
        let globalLoss = try clock.time { try dp.group.allReduce(lossSum, op: .sum) }
        step += 1
        lastCommunicationSeconds = clock.seconds
        return StepStats(loss: globalLoss * scale, gradNorm: norm, lr: lr)
    }

    /// ZeRO 2: reduce-scatters the micro-batch's gradient (`gradients`, the model's or the shard's
    /// padded flat buffer) into this rank's slot accumulator, and zeroes it for the next one.
    func reduceScatterMicroBatch(_ dp: DataParallelContext, gradients grads: FloatBuffer, clock: CommunicationClock) throws {
        let slot = dp.shards.slot(of: dp.rank)
        try clock.time {
            try ZeroCollectives.reduceScatterGradients(UnsafeMutableBufferPointer(start: grads.base, count: grads.count),
                                                       shards: dp.shards, group: dp.group)
        }
        let src = grads.base + slot.lowerBound, dst = gradientShard!.base
        for i in 0..<slot.count { dst[i] += src[i] }
        grads.zero(pool: model.pool)
    }
}
