/// One optimizer step's time, split so that the parts add up to `total`.
public struct StepTime: Codable, Equatable, Sendable {
    /// Matrix-multiplication time of the m micro-batches on the slowest stage.
    public var compute: Double
    /// Elementwise work (layer norms, GELU, softmax, dropout, residuals), timed as memory traffic.
    public var memoryBound: Double
    /// Tensor-parallel all-reduces (or all-gather + reduce-scatter pairs), not overlapped.
    public var tensorParallel: Double
    /// Pipeline point-to-point sends of activations and their gradients.
    public var pipelineP2P: Double
    /// Pipeline fill and drain: (p − 1)/v micro-batch times.
    public var bubble: Double
    /// Data-parallel gradient reduction (and ZeRO gathers) left exposed after any overlap.
    public var dataParallel: Double
    /// Data-parallel communication if none of it overlapped.
    public var dataParallelWithoutOverlap: Double
    /// Adam update, memory-bound.
    public var optimizer: Double
    /// Time of one micro-batch (forward + backward) through the slowest stage.
    public var microBatch: Double
    /// Seconds per step.
    public var total: Double
}

/// The analytic step-time model.
///
/// The pipeline runs m = B/(d·b) micro-batches; with 1F1B (interleaved or not) the step takes
/// (m + (p − 1)/v) micro-batch times on the slowest stage (Narayanan et al. 2021, §2.2), then the
/// exposed data-parallel reduction and the optimizer step. A micro-batch's time on a stage is its
/// FLOPs over the achieved fraction of peak, plus elementwise memory traffic over memory bandwidth,
/// plus its tensor-parallel all-reduces and pipeline sends over the links the rank grid says they use.
public enum TimeModel {
    /// The step time of a layout, part by part. The layout is assumed valid (`Layout.validate`).
    public static func step(model: ModelSpec, cluster: ClusterSpec, layout: Layout) -> StepTime {
        let grid = RankGrid(layout: layout, cluster: cluster)
        let software = cluster.software
        let t = layout.tensorParallel, p = layout.pipelineParallel
        let v = layout.virtualStages, m = layout.microBatchesPerStep
        let s = Double(layout.sequenceLength), b = Double(layout.microBatch)
        let h = Double(model.hidden), a = Double(model.heads), td = Double(t)
        let vocabulary = Double(model.paddedVocabulary(tensorParallel: t))
        let layersPerStage = Double(model.layers / p)
        let element = layout.precision.bytes
        let peak = cluster.device.peak(layout.precision) ?? .nan

        // The last stage is the slowest: the same layers as the others plus the output layer.
        let stageFlops = (layersPerStage * FlopCount.layerTraining(batch: b, sequence: s, hidden: h,
                                                                    recompute: layout.recompute)
            + 3 * FlopCount.logitsForward(batch: b, sequence: s, hidden: h, vocabulary: vocabulary)) / td
        let computeTime = stageFlops / (software.computeFraction * peak)

        // Each stored activation is written in the forward pass and read back, and its gradient written,
        // in the backward: ≈ 3 passes over the stored bytes, 4 when the forward is rerun.
        let stored = ActivationMemory.perLayer(
            sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: td,
            sequenceParallel: layout.sequenceParallel, recompute: .none, elementBytes: element)
        let passes: Double = layout.recompute == .full ? 4 : 3
        var traffic = passes * layersPerStage * stored
        if layout.recompute == .selective {
            traffic += layersPerStage * ActivationMemory.workingSet(
                sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: td,
                sequenceParallel: layout.sequenceParallel, recompute: .selective, elementBytes: element)
        }
        traffic += 3 * 4 * s * b * vocabulary / td  // fp32 logits: softmax forward, loss, gradient
        let memoryTime = traffic / cluster.device.memoryBandwidth

        // Two all-reduces in each layer's forward and two in its backward (Shoeybi et al. 2019, §3,
        // the f/g operators), two more when the forward is rerun; sequence parallelism turns each into an
        // all-gather + reduce-scatter of the same volume (Korthikanti et al. 2022, §4.2.2).
        let allReducesPerLayer: Double = layout.recompute == .full ? 6 : 4
        let activationBytes = b * s * h * Double(element)
        let tensorTime = layersPerStage * allReducesPerLayer * grid.tensorAllReduce(bytes: activationBytes)

        // Per micro-batch each of the v chunks sends its activations forward and its gradients back.
        let send = grid.pipelineSend(bytes: activationBytes, scatterGather: software.scatterGatherP2P)
        let p2pTime = 2 * Double(v) * send

        let microBatchTime = computeTime + memoryTime + tensorTime + p2pTime
        let bubbleTime = Double(p - 1) / Double(v) * microBatchTime

        let data = dataParallelTime(model: model, cluster: cluster, layout: layout, grid: grid)
        var exposed = data.total
        if software.overlapsGradientReduce {
            // Gradients of the last micro-batch's backward (2/3 of its time) can be reduced while it runs;
            // ZeRO-2/3 communicate every micro-batch and can hide behind all of them.
            let window = layout.zeroStage >= 2 ? Double(m) * microBatchTime : microBatchTime * 2 / 3
            exposed = max(0, data.total - window)
        }

        let optimizerTime = optimizerStep(model: model, cluster: cluster, layout: layout)
        let mD = Double(m)
        let total = mD * microBatchTime + bubbleTime + exposed + optimizerTime
        return StepTime(
            compute: mD * computeTime, memoryBound: mD * memoryTime, tensorParallel: mD * tensorTime,
            pipelineP2P: mD * p2pTime, bubble: bubbleTime, dataParallel: exposed,
            dataParallelWithoutOverlap: data.total, optimizer: optimizerTime,
            microBatch: microBatchTime, total: total)
    }

    /// Bytes per parameter that the data-parallel reduction moves: fp32 when the software keeps an
    /// fp32 gradient buffer, else the training precision.
    static func gradientCommBytes(cluster: ClusterSpec, layout: Layout) -> Double {
        cluster.software.fp32GradientBuffer && layout.precision.isMixed ? 4 : Double(layout.precision.bytes)
    }

    /// Data-parallel communication per step on the busiest device, by ZeRO stage (Rajbhandari et al.
    /// 2020, §7): stage 0 all-reduces the gradients once (2Ψ); stage 1 reduce-scatters them and
    /// all-gathers the updated weights (same 2Ψ); stage 2 must reduce-scatter every micro-batch because
    /// each rank keeps only its gradient shard; stage 3 also all-gathers the weights for every forward
    /// and backward (and rerun forward) of every micro-batch.
    static func dataParallelTime(model: ModelSpec, cluster: ClusterSpec, layout: Layout,
                                 grid: RankGrid) -> (total: Double, perMicroBatch: Double) {
        let d = layout.dataParallel
        guard d > 1 else { return (0, 0) }
        let parameters = MemoryModel.largestStageParameters(model: model, layout: layout)
        let gradientBytes = parameters * gradientCommBytes(cluster: cluster, layout: layout)
        let weightBytes = parameters * Double(layout.precision.bytes)
        let stride = layout.tensorParallel
        let gather = { (bytes: Double) in grid.gatherTime(bytes: bytes, stride: stride, size: d) }
        let m = Double(layout.microBatchesPerStep)
        switch layout.zeroStage {
        case 0:
            return (grid.allReduceTime(bytes: gradientBytes, stride: stride, size: d), 0)
        case 1:
            return (gather(gradientBytes) + gather(weightBytes), 0)
        case 2:
            let perMicroBatch = gather(gradientBytes)
            return (m * perMicroBatch + gather(weightBytes), perMicroBatch)
        default:
            let weightGathers: Double = layout.recompute == .full ? 3 : 2
            let perMicroBatch = weightGathers * gather(weightBytes) + gather(gradientBytes)
            return (m * perMicroBatch, perMicroBatch)
        }
    }

    /// Adam reads the fp32 master, momentum and variance and the gradient, and writes the first three
    /// and the 16-bit weights: 2·12 + gradient + weight bytes per parameter it owns, at memory bandwidth.
    static func optimizerStep(model: ModelSpec, cluster: ClusterSpec, layout: Layout) -> Double {
        let shards = Double(layout.zeroStage >= 1 ? layout.dataParallel : 1)
        let owned = MemoryModel.largestStageParameters(model: model, layout: layout) / shards
        let weightWrite = layout.precision.isMixed ? Double(layout.precision.bytes) : 0
        let bytesPerParameter = 24 + gradientCommBytes(cluster: cluster, layout: layout) + weightWrite
        return owned * bytesPerParameter / cluster.device.memoryBandwidth
    }
}
