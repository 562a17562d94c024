/// Throughput figures of a plan.
public struct Throughput: Codable, Equatable, Sendable {
    /// Seconds per optimizer step.
    public var secondsPerStep: Double
    /// Tokens per second over the whole cluster.
    public var tokensPerSecond: Double
    /// FLOPs executed per step, recomputation included.
    public var hardwareFlopsPerStep: Double
    /// FLOPs the model needs per step, without recomputation.
    public var modelFlopsPerStep: Double
    /// Executed TFLOP/s per device, the figure MT-NLG and Megatron publish (with full recomputation
    /// it equals Narayanan et al.'s 96Bslh²(…) count over time and devices).
    public var tflopsPerDevice: Double
    /// Model FLOPs utilization: model FLOPs over time × devices × peak.
    public var mfu: Double
    /// Hardware FLOPs utilization: executed FLOPs over time × devices × peak.
    public var hfu: Double
}

/// A complete answer for one model, cluster and layout: memory, time and throughput.
///
/// ```swift
/// let model = try ModelSpec.preset(named: "mt-nlg-530b")
/// let cluster = try ClusterSpec.resolve("dgx-a100-80gb:280@megatron-deepspeed")
/// let layout = Layout(tensorParallel: 8, pipelineParallel: 35, dataParallel: 8, globalBatch: 1920,
///                     sequenceLength: 2048, zeroStage: 1, recompute: .full)
/// let plan = try Planner.plan(model: model, cluster: cluster, layout: layout)
/// plan.time.total              // ≈ 61 s; MT-NLG published 60.1 s
/// print(Report.text(plan))
/// ```
public struct Plan: Codable, Equatable, Sendable {
    /// The model planned.
    public var model: ModelSpec
    /// The cluster planned on.
    public var cluster: ClusterSpec
    /// The layout planned.
    public var layout: Layout
    /// All parameters of the model (vocabulary padded for this tensor-parallel degree).
    public var totalParameters: Double
    /// Memory of the busiest device.
    public var memory: MemoryBreakdown
    /// Step time, part by part.
    public var time: StepTime
    /// Throughput figures.
    public var throughput: Throughput
}

/// Builds plans.
public enum Planner {
    /// Validates the layout and computes memory, time and throughput. A plan that does not fit in
    /// memory is still returned (`memory.fits` is false) so that its breakdown can be shown.
    public static func plan(model: ModelSpec, cluster: ClusterSpec, layout: Layout) throws(PlanError) -> Plan {
        try cluster.validate()
        try layout.validate(model: model, cluster: cluster)
        return evaluate(model: model, cluster: cluster, layout: layout)
    }

    /// `plan` without validation, for the search, which only generates valid layouts.
    static func evaluate(model: ModelSpec, cluster: ClusterSpec, layout: Layout) -> Plan {
        let memory = MemoryModel.busiestDevice(model: model, cluster: cluster, layout: layout)
        let time = TimeModel.step(model: model, cluster: cluster, layout: layout)
        let s = Double(layout.sequenceLength), batch = Double(layout.globalBatch)
        let vocabulary = Double(model.paddedVocabulary(tensorParallel: layout.tensorParallel))
        let hardware = FlopCount.hardware(model: model, batch: batch, sequence: s, vocabulary: vocabulary,
                                          recompute: layout.recompute)
        let needed = FlopCount.model(model: model, batch: batch, sequence: s, vocabulary: vocabulary)
        let devices = Double(layout.worldSize)
        let peak = cluster.device.peak(layout.precision) ?? .nan
        let throughput = Throughput(
            secondsPerStep: time.total, tokensPerSecond: batch * s / time.total,
            hardwareFlopsPerStep: hardware, modelFlopsPerStep: needed,
            tflopsPerDevice: hardware / (time.total * devices) / 1e12,
            mfu: needed / (time.total * devices * peak), hfu: hardware / (time.total * devices * peak))
        return Plan(model: model, cluster: cluster, layout: layout,
                    totalParameters: Double(model.parameterCount(tensorParallel: layout.tensorParallel)),
                    memory: memory, time: time, throughput: throughput)
    }
}
