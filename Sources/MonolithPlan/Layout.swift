/// Number format of weights and activations.
public enum Precision: String, Codable, CaseIterable, Sendable {
    /// Mixed precision with bfloat16 weights and activations and fp32 optimizer states.
    case bf16
    /// Mixed precision with float16 weights and activations and fp32 optimizer states.
    case fp16
    /// Everything in float32.
    case fp32

    /// Bytes of one weight, gradient or activation element.
    public var bytes: Int { self == .fp32 ? 4 : 2 }
    /// Whether an fp32 master copy of the weights is kept besides the 16-bit ones.
    public var isMixed: Bool { self != .fp32 }
}

/// What the backward pass recomputes instead of keeping (Korthikanti et al. 2022).
public enum Recompute: String, Codable, CaseIterable, Sendable {
    /// Keep every activation.
    case none
    /// Recompute only the attention core (QKᵀ, softmax, dropout, ·V): big to store, cheap to redo.
    case selective
    /// Keep only each layer's input and rerun the whole layer forward during backward.
    case full
}

/// How a training run is laid out over the devices: the 3D-parallel grid, the batch, and the
/// memory-saving options.
///
/// ```swift
/// // MT-NLG on 280 DGX A100 nodes (Smith et al. 2022, §2.4)
/// let layout = Layout(tensorParallel: 8, pipelineParallel: 35, dataParallel: 8, microBatch: 1,
///                     globalBatch: 1920, sequenceLength: 2048, zeroStage: 1, recompute: .full)
/// try layout.validate(model: model, cluster: cluster)
/// ```
public struct Layout: Codable, Equatable, Hashable, Sendable {
    /// Tensor-parallel degree `t`: each layer's matrices are split over `t` devices.
    public var tensorParallel: Int
    /// Pipeline-parallel degree `p`: the layers are split into `p` stages.
    public var pipelineParallel: Int
    /// Data-parallel degree `d`: model replicas that each see `globalBatch / d` sequences.
    public var dataParallel: Int
    /// Model chunks per pipeline stage `v` for the interleaved 1F1B schedule; 1 is plain 1F1B.
    public var virtualStages: Int
    /// Sequences per micro-batch `b`.
    public var microBatch: Int
    /// Sequences per optimizer step `B`.
    public var globalBatch: Int
    /// Training sequence length `s`.
    public var sequenceLength: Int
    /// ZeRO stage 0–3: 1 shards optimizer states, 2 also gradients, 3 also weights over data parallel.
    public var zeroStage: Int
    /// Activation recomputation.
    public var recompute: Recompute
    /// Weight, gradient and activation format.
    public var precision: Precision
    /// Megatron sequence parallelism: the non-tensor-parallel regions (layer norms, dropout) are split
    /// along the sequence over the tensor-parallel group, dividing their activations by `t`.
    public var sequenceParallel: Bool

    /// A layout; the defaults are a single device without recomputation, ZeRO or interleaving.
    public init(tensorParallel: Int = 1, pipelineParallel: Int = 1, dataParallel: Int = 1,
                virtualStages: Int = 1, microBatch: Int = 1, globalBatch: Int, sequenceLength: Int,
                zeroStage: Int = 0, recompute: Recompute = .none, precision: Precision = .bf16,
                sequenceParallel: Bool = false) {
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
        self.virtualStages = virtualStages
        self.microBatch = microBatch
        self.globalBatch = globalBatch
        self.sequenceLength = sequenceLength
        self.zeroStage = zeroStage
        self.recompute = recompute
        self.precision = precision
        self.sequenceParallel = sequenceParallel
    }

    /// Devices used: t·p·d.
    public var worldSize: Int { tensorParallel * pipelineParallel * dataParallel }

    /// Micro-batches each pipeline runs per step, `m = B / (d·b)`.
    public var microBatchesPerStep: Int { globalBatch / (dataParallel * microBatch) }

    /// Idle fraction of the pipeline relative to useful work, (p − 1)/(v·m) (Narayanan et al. 2021, §2.2).
    public var bubbleFraction: Double {
        Double(pipelineParallel - 1) / Double(virtualStages * microBatchesPerStep)
    }

    /// Checks every rule the planner relies on; the error names the first one broken.
    public func validate(model: ModelSpec, cluster: ClusterSpec) throws(PlanError) {
        try model.validate()
        let t = tensorParallel, p = pipelineParallel, d = dataParallel, v = virtualStages
        for (name, value) in [("tp", t), ("pp", p), ("dp", d), ("virtual stages", v),
                              ("micro-batch", microBatch), ("global batch", globalBatch),
                              ("sequence length", sequenceLength)] where value < 1 {
            throw .invalidLayout(constraint: "\(name) ≥ 1", detail: "\(name) is \(value)")
        }
        guard (0...3).contains(zeroStage) else {
            throw .invalidLayout(constraint: "zero ∈ {0, 1, 2, 3}", detail: "zero is \(zeroStage)")
        }
        if worldSize != cluster.deviceCount {
            throw .invalidLayout(
                constraint: "tp·pp·dp = nodes·devices per node",
                detail: "\(t)·\(p)·\(d) = \(worldSize) but the cluster has \(cluster.nodes)·"
                    + "\(cluster.devicesPerNode) = \(cluster.deviceCount) devices")
        }
        if model.heads % t != 0 {
            throw .invalidLayout(constraint: "heads % tp == 0",
                                 detail: "\(model.heads) heads cannot be split over tp \(t)")
        }
        if model.layers % (p * v) != 0 {
            throw .invalidLayout(
                constraint: "layers % (pp·virtual stages) == 0",
                detail: "\(model.layers) layers cannot be split into \(p)·\(v) = \(p * v) equal chunks")
        }
        if v > 1 && p == 1 {
            throw .invalidLayout(constraint: "virtual stages > 1 needs pp > 1",
                                 detail: "interleaving \(v) chunks on a single stage has no pipeline")
        }
        if globalBatch % (d * microBatch) != 0 {
            throw .invalidLayout(
                constraint: "global batch % (dp·micro-batch) == 0",
                detail: "\(globalBatch) sequences do not split into dp \(d) × micro-batch \(microBatch)")
        }
        // Megatron's interleaved schedule runs micro-batches in groups of p (Narayanan et al. 2021, §2.2.2).
        if v > 1 && microBatchesPerStep % p != 0 {
            throw .invalidLayout(
                constraint: "micro-batches % pp == 0 when interleaving",
                detail: "\(microBatchesPerStep) micro-batches per step are not a multiple of pp \(p)")
        }
        if sequenceLength > model.contextLength {
            throw .invalidLayout(
                constraint: "sequence length ≤ model context length",
                detail: "\(sequenceLength) > \(model.contextLength) position embeddings")
        }
        if cluster.device.peak(precision) == nil {
            let supported = Precision.allCases.filter { cluster.device.peak($0) != nil }.map(\.rawValue)
            throw .invalidLayout(
                constraint: "precision supported by the device",
                detail: "\(cluster.device.name) has no \(precision.rawValue) figure; "
                    + "supported: \(supported.joined(separator: ", "))")
        }
    }
}
