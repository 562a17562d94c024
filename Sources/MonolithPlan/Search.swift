/// The layouts a search may try. A field left nil is searched over; a set field is held fixed.
public struct SearchSpace: Codable, Equatable, Sendable {
    /// Fixed tensor-parallel degree, or nil to search divisors of the device count that split the heads
    /// and fit in one node.
    public var tensorParallel: Int?
    /// Fixed pipeline-parallel degree, or nil to search divisors that split the layers.
    public var pipelineParallel: Int?
    /// Fixed data-parallel degree, or nil to take what the device count leaves.
    public var dataParallel: Int?
    /// Fixed virtual stages, or nil to search divisors of the layers per stage up to `maxVirtualStages`.
    public var virtualStages: Int?
    /// Fixed micro-batch, or nil to search divisors of the per-replica batch up to `maxMicroBatch`.
    public var microBatch: Int?
    /// Fixed ZeRO stage, or nil to search 0–3.
    public var zeroStage: Int?
    /// Fixed recomputation, or nil to search all three.
    public var recompute: Recompute?
    /// Sequences per step.
    public var globalBatch: Int
    /// Training sequence length.
    public var sequenceLength: Int
    /// Precision of every candidate.
    public var precision: Precision
    /// Sequence parallelism for every candidate with tp > 1.
    public var sequenceParallel: Bool
    /// Largest micro-batch tried.
    public var maxMicroBatch: Int
    /// Most virtual stages tried.
    public var maxVirtualStages: Int

    /// A space with every degree free unless given.
    public init(globalBatch: Int, sequenceLength: Int, precision: Precision = .bf16,
                tensorParallel: Int? = nil, pipelineParallel: Int? = nil, dataParallel: Int? = nil,
                virtualStages: Int? = nil, microBatch: Int? = nil, zeroStage: Int? = nil,
                recompute: Recompute? = nil, sequenceParallel: Bool = false,
                maxMicroBatch: Int = 16, maxVirtualStages: Int = 8) {
        self.globalBatch = globalBatch
        self.sequenceLength = sequenceLength
        self.precision = precision
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
        self.virtualStages = virtualStages
        self.microBatch = microBatch
        self.zeroStage = zeroStage
        self.recompute = recompute
        self.sequenceParallel = sequenceParallel
        self.maxMicroBatch = maxMicroBatch
        self.maxVirtualStages = maxVirtualStages
    }
}

/// What a search found.
public struct SearchResult: Codable, Equatable, Sendable {
    /// Valid layouts evaluated.
    public var evaluated: Int
    /// Of those, the ones that fit in device memory.
    public var feasible: Int
    /// The fastest feasible plans, fastest first.
    public var top: [Plan]
}

/// Enumerates valid layouts, drops those that exceed device memory and ranks the rest by step time.
///
/// ```swift
/// let space = SearchSpace(globalBatch: 1920, sequenceLength: 2048)
/// let result = try Search.run(model: model, cluster: cluster, space: space, top: 5)
/// result.top.first?.layout   // the fastest layout that fits
/// ```
public enum Search {
    /// Runs the search. `progress(done, total)` is called every few hundred layouts.
    public static func run(model: ModelSpec, cluster: ClusterSpec, space: SearchSpace, top: Int = 10,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(PlanError) -> SearchResult {
        try model.validate()
        try cluster.validate()
        if cluster.device.peak(space.precision) == nil {
            throw .invalidLayout(constraint: "precision supported by the device",
                                 detail: "\(cluster.device.name) has no \(space.precision.rawValue) figure")
        }
        let candidates = layouts(model: model, cluster: cluster, space: space)
        if candidates.isEmpty {
            throw .noFeasibleLayout("no valid layout of \(model.name) on \(cluster.deviceCount) devices"
                + " with global batch \(space.globalBatch)\(describeFixed(space)): tp·pp·dp must equal"
                + " \(cluster.deviceCount) with heads % tp == 0, layers % pp == 0 and global batch % dp == 0")
        }
        var plans: [Plan] = []
        var leanest: Plan?
        for (index, layout) in candidates.enumerated() {
            if index % 256 == 0 { progress(index, candidates.count) }
            let plan = Planner.evaluate(model: model, cluster: cluster, layout: layout)
            if plan.memory.fits {
                plans.append(plan)
            } else if leanest.map({ plan.memory.total < $0.memory.total }) ?? true {
                leanest = plan
            }
        }
        progress(candidates.count, candidates.count)
        guard !plans.isEmpty else {
            let lean = leanest!
            throw .noFeasibleLayout(
                "\(model.name) needs at least \(fixed(lean.memory.total / gib, 1)) GiB per device even in its"
                + " leanest layout (\(describe(lean.layout))), but \(cluster.device.name) has"
                + " \(fixed(cluster.device.memoryBytes / gib, 1)) GiB; \(cluster.deviceCount) device"
                + "\(cluster.deviceCount == 1 ? " is" : "s are") not enough (largest term: \(lean.memory.largestTerm))")
        }
        plans.sort { ($0.time.total, $0.memory.total) < ($1.time.total, $1.memory.total) }
        return SearchResult(evaluated: candidates.count, feasible: plans.count, top: Array(plans.prefix(max(top, 0))))
    }

    /// Every valid layout in the space.
    public static func layouts(model: ModelSpec, cluster: ClusterSpec, space: SearchSpace) -> [Layout] {
        let world = cluster.deviceCount
        var result: [Layout] = []
        // Tensor parallelism stays inside a node unless asked for: the bandwidth-only model prices a
        // cross-node ring at the NIC shares (≈ 0.8× NVLink on a DGX A100) but not the latency and
        // small-message losses that made tp > 8 much slower in practice (Narayanan et al. 2021, §3.2,
        // Takeaway #1: tensor parallelism up to the GPUs per server).
        let tensorOptions = divisors(world).filter { $0 <= cluster.devicesPerNode }
        for t in pick(space.tensorParallel, from: tensorOptions) where model.heads % t == 0 {
            for p in pick(space.pipelineParallel, from: divisors(world / t))
            where world % (t * p) == 0 && model.layers % p == 0 {
                let d = world / (t * p)
                if let fixedD = space.dataParallel, fixedD != d { continue }
                guard space.globalBatch % d == 0 else { continue }
                let perReplica = space.globalBatch / d
                let chunks = p == 1 ? [1] : divisors(model.layers / p).filter { $0 <= space.maxVirtualStages }
                for v in pick(space.virtualStages, from: chunks) {
                    let micro = divisors(perReplica).filter { $0 <= space.maxMicroBatch }
                    for b in pick(space.microBatch, from: micro) {
                        let zeros = d == 1 ? [0] : [0, 1, 2, 3]
                        for zero in pick(space.zeroStage, from: zeros) {
                            for recompute in space.recompute.map({ [$0] }) ?? Recompute.allCases {
                                let layout = Layout(
                                    tensorParallel: t, pipelineParallel: p, dataParallel: d, virtualStages: v,
                                    microBatch: b, globalBatch: space.globalBatch,
                                    sequenceLength: space.sequenceLength, zeroStage: zero, recompute: recompute,
                                    precision: space.precision, sequenceParallel: space.sequenceParallel && t > 1)
                                if (try? layout.validate(model: model, cluster: cluster)) != nil {
                                    result.append(layout)
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// A one-line description of a layout, as the tables print it.
    public static func describe(_ layout: Layout) -> String {
        "tp \(layout.tensorParallel), pp \(layout.pipelineParallel), dp \(layout.dataParallel),"
            + " v \(layout.virtualStages), micro-batch \(layout.microBatch), zero \(layout.zeroStage),"
            + " recompute \(layout.recompute.rawValue)"
    }

    private static func describeFixed(_ space: SearchSpace) -> String {
        let fixed = [("tp", space.tensorParallel), ("pp", space.pipelineParallel), ("dp", space.dataParallel),
                     ("virtual stages", space.virtualStages), ("micro-batch", space.microBatch),
                     ("zero", space.zeroStage)].compactMap { name, value in value.map { "\(name) \($0)" } }
        return fixed.isEmpty ? "" : " and " + fixed.joined(separator: ", ")
    }

    /// The fixed value if set (kept even when not among `options`, so validation can reject it), else
    /// all options.
    private static func pick(_ fixed: Int?, from options: [Int]) -> [Int] {
        fixed.map { [$0] } ?? options
    }

    static func divisors(_ n: Int) -> [Int] {
        guard n > 0 else { return [] }
        return (1...n).filter { n % $0 == 0 }
    }
}
