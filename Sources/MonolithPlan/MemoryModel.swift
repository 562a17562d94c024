/// Bytes per parameter of the model states (weights, gradients, optimizer) with Adam.
///
/// Mixed precision keeps 16-bit weights (2) and gradients (2) plus an fp32 master copy, momentum and
/// variance (K = 12): 16 bytes, the ZeRO paper's count (Rajbhandari et al. 2020, §3.1). MT-NLG counts
/// 20 (Smith et al. 2022, §2.1); we read the extra 4 as the fp32 gradient buffer bf16 training keeps.
/// ZeRO stage 1 shards the optimizer states over the `d` data-parallel ranks, stage 2 also the
/// gradients, stage 3 also the weights (Rajbhandari et al. 2020, §5, Figure 1).
public struct ModelStateBytes: Codable, Equatable, Sendable {
    /// Weight bytes per parameter on one device.
    public var weights: Double
    /// Gradient bytes per parameter on one device.
    public var gradients: Double
    /// Optimizer bytes per parameter on one device: fp32 master, momentum, variance, fp32 gradients.
    public var optimizer: Double

    /// All three.
    public var total: Double { weights + gradients + optimizer }

    /// Bytes per parameter for a precision, ZeRO stage (0–3) and data-parallel degree `d`.
    public init(precision: Precision, zeroStage: Int, dataParallel d: Int, fp32GradientBuffer: Bool) {
        let shards = Double(max(d, 1))
        let w = Double(precision.bytes)
        // fp32 training has no master copy: the weights are the master, so Adam adds momentum + variance.
        var k: Double = precision.isMixed ? 12 : 8
        if fp32GradientBuffer && precision.isMixed { k += 4 }
        weights = zeroStage >= 3 ? w / shards : w
        gradients = zeroStage >= 2 ? w / shards : w
        optimizer = zeroStage >= 1 ? k / shards : k
    }
}

/// Activation bytes of one transformer layer for one micro-batch, Korthikanti et al. 2022, Table 2.
///
/// With 16-bit activations and 1-byte dropout masks a layer stores sbh(34 + 5as/h) bytes: 34sbh for
/// the inputs of the matrix multiplications, layer norms, GELU and dropouts, 5as²b for the attention
/// scores, softmax and its dropout. Tensor parallelism splits 24 of the 34 and the attention part by
/// `t`; sequence parallelism splits the remaining 10 too. Selective recomputation drops the 5as²b part;
/// full recomputation keeps only the layer input, 2sbh (split by `t` under sequence parallelism).
/// fp32 activations double everything.
public enum ActivationMemory {
    /// Stored bytes per layer per micro-batch.
    public static func perLayer(sequence s: Double, microBatch b: Double, hidden h: Double, heads a: Double,
                                tensorParallel t: Double, sequenceParallel: Bool, recompute: Recompute,
                                elementBytes: Int = 2) -> Double {
        let sbh = s * b * h
        let scale = Double(elementBytes) / 2
        let replicated = sequenceParallel ? 10 / t : 10
        let attention = 5 * a * s / (h * t)
        switch recompute {
        case .none: return scale * sbh * (replicated + 24 / t + attention)
        case .selective: return scale * sbh * (replicated + 24 / t)
        case .full: return scale * 2 * sbh / (sequenceParallel ? t : 1)
        }
    }

    /// Bytes a recomputing backward pass rematerializes at once on top of what is stored: a whole layer
    /// under full recomputation, one attention core under selective.
    public static func workingSet(sequence s: Double, microBatch b: Double, hidden h: Double, heads a: Double,
                                  tensorParallel t: Double, sequenceParallel: Bool, recompute: Recompute,
                                  elementBytes: Int = 2) -> Double {
        switch recompute {
        case .none: return 0
        case .selective: return Double(elementBytes) / 2 * 5 * a * s * s * b / t
        case .full:
            return perLayer(sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: t,
                            sequenceParallel: sequenceParallel, recompute: .none, elementBytes: elementBytes)
        }
    }

    /// Model chunks whose activations stage `stage` holds at the peak of the schedule.
    ///
    /// Plain 1F1B: stage r runs p − r forward passes before its first backward, so it holds
    /// min(m, p − r) micro-batches of its l/p layers; the first stage holds p, i.e. l layers' worth
    /// (Narayanan et al. 2021, §2.2.1). Interleaved with v chunks of l/(pv) layers: Megatron's warm-up
    /// is 2(p − r − 1) + (v − 1)p chunks plus the one in flight, so the first stage holds
    /// l(1 + (p − 1)/(pv)) layers' worth (Korthikanti et al. 2022, §4.2.3).
    public static func chunksInFlight(stage r: Int, pipeline p: Int, virtualStages v: Int, microBatches m: Int) -> Int {
        if v == 1 { return min(m, p - r) }
        return min(m * v, 2 * (p - r - 1) + (v - 1) * p + 1)
    }
}

/// The memory of the busiest device, term by term.
public struct MemoryBreakdown: Codable, Equatable, Sendable {
    /// Pipeline stage of the busiest device (0 holds the embeddings and the most activations, the
    /// last one the output layer and the logits).
    public var stage: Int
    /// Parameters held by that device before ZeRO-3 sharding.
    public var parameters: Double
    /// Weight bytes.
    public var weights: Double
    /// Gradient bytes.
    public var gradients: Double
    /// Optimizer state bytes (fp32 master, momentum, variance, fp32 gradient buffer).
    public var optimizerStates: Double
    /// Stored activation bytes at the peak of the schedule, working set and logits included.
    public var activations: Double
    /// Stored activation bytes of one layer for one micro-batch, with the layout's recomputation.
    public var activationsPerLayer: Double
    /// The same without recomputation, for comparison.
    public var activationsPerLayerWithoutRecompute: Double
    /// Model chunks (micro-batch × chunk pairs) in flight on this stage at the peak.
    public var chunksInFlight: Int
    /// Layers in one chunk, l/(p·v).
    public var layersPerChunk: Int
    /// Sum of the terms.
    public var total: Double
    /// Device capacity.
    public var capacity: Double

    /// Whether the device holds it all.
    public var fits: Bool { total <= capacity }

    /// The largest term, for error messages.
    public var largestTerm: String {
        [("weights", weights), ("gradients", gradients), ("optimizer states", optimizerStates),
         ("activations", activations)].max { $0.1 < $1.1 }!.0
    }
}

/// Memory per device for a model, cluster and layout.
public enum MemoryModel {
    /// Parameters that pipeline stage `stage` holds on one tensor-parallel rank. The first stage holds
    /// the word embeddings (split by t) and the position embeddings (replicated, as in Megatron); the
    /// last holds the tied output copy of the word embeddings and the final layer norm.
    public static func parametersOnStage(_ stage: Int, model: ModelSpec, layout: Layout) -> Double {
        let t = Double(layout.tensorParallel), p = layout.pipelineParallel
        let h = Double(model.hidden)
        let vocabulary = Double(model.paddedVocabulary(tensorParallel: layout.tensorParallel))
        var count = Double(model.layers / p) * Double(model.parametersPerLayer) / t
        if stage == 0 { count += vocabulary * h / t + Double(model.contextLength) * h }
        if stage == p - 1 {
            if p > 1 { count += vocabulary * h / t }
            count += 2 * h
        }
        return count
    }

    /// Parameters on the device with the most: the first or the last stage (the others hold only layers).
    public static func largestStageParameters(model: ModelSpec, layout: Layout) -> Double {
        max(parametersOnStage(0, model: model, layout: layout),
            parametersOnStage(layout.pipelineParallel - 1, model: model, layout: layout))
    }

    /// The larger of the first and the last stage's memory.
    public static func busiestDevice(model: ModelSpec, cluster: ClusterSpec, layout: Layout) -> MemoryBreakdown {
        let first = stage(0, model: model, cluster: cluster, layout: layout)
        guard layout.pipelineParallel > 1 else { return first }
        let last = stage(layout.pipelineParallel - 1, model: model, cluster: cluster, layout: layout)
        return last.total > first.total ? last : first
    }

    /// Memory of one device of pipeline stage `r`.
    public static func stage(_ r: Int, model: ModelSpec, cluster: ClusterSpec, layout: Layout) -> MemoryBreakdown {
        let t = layout.tensorParallel, p = layout.pipelineParallel, v = layout.virtualStages
        let s = Double(layout.sequenceLength), b = Double(layout.microBatch)
        let h = Double(model.hidden), a = Double(model.heads), td = Double(t)
        let bytes = layout.precision.bytes
        let parameters = parametersOnStage(r, model: model, layout: layout)
        let state = ModelStateBytes(precision: layout.precision, zeroStage: layout.zeroStage,
                                    dataParallel: layout.dataParallel,
                                    fp32GradientBuffer: cluster.software.fp32GradientBuffer)
        var weights = parameters * state.weights
        if layout.zeroStage >= 3 {
            // ZeRO-3 gathers a layer's full weights before using it and prefetches the next one.
            weights += 2 * Double(model.parametersPerLayer) / td * Double(bytes)
        }

        let layersPerChunk = model.layers / (p * v)
        let perLayer = ActivationMemory.perLayer(
            sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: td,
            sequenceParallel: layout.sequenceParallel, recompute: layout.recompute, elementBytes: bytes)
        let perLayerKept = ActivationMemory.perLayer(
            sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: td,
            sequenceParallel: layout.sequenceParallel, recompute: .none, elementBytes: bytes)
        let perChunk = Double(layersPerChunk) * perLayer
        let inFlight = ActivationMemory.chunksInFlight(stage: r, pipeline: p, virtualStages: v,
                                                       microBatches: layout.microBatchesPerStep)
        var activations = Double(inFlight) * perChunk
        activations += ActivationMemory.workingSet(
            sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: td,
            sequenceParallel: layout.sequenceParallel, recompute: layout.recompute, elementBytes: bytes)
        let splitBySequence = layout.sequenceParallel ? td : 1
        if r == 0 {
            // The embedding dropout mask, one byte per element, for each micro-batch in flight
            // (Korthikanti et al. 2022, §4.3).
            let microBatchesInFlight = Double(min(layout.microBatchesPerStep, p))
            activations += s * b * h * microBatchesInFlight / splitBySequence
        }
        if r == p - 1 {
            // fp32 logits of the vocabulary-parallel cross-entropy: 4sbV/t (Korthikanti et al. 2022, §4.3).
            let vocabulary = Double(model.paddedVocabulary(tensorParallel: t))
            activations += 4 * s * b * vocabulary / td
        }

        let gradients = parameters * state.gradients
        let optimizer = parameters * state.optimizer
        return MemoryBreakdown(
            stage: r, parameters: parameters, weights: weights, gradients: gradients,
            optimizerStates: optimizer, activations: activations, activationsPerLayer: perLayer,
            activationsPerLayerWithoutRecompute: perLayerKept,
            chunksInFlight: inFlight, layersPerChunk: layersPerChunk,
            total: weights + gradients + optimizer + activations, capacity: cluster.device.memoryBytes)
    }
}
