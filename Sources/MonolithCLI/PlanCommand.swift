import ArgumentParser
import Foundation
import MonolithKernels
import MonolithPlan

/// `monolith plan`: memory and step time of a 3D-parallel training layout, or a search for the fastest.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Memory and step time of a 3D-parallel (tensor × pipeline × data) training layout.",
        discussion: """
            Models: \(ModelSpec.presetNames.joined(separator: ", ")), or a JSON file with layers, hidden, \
            heads, vocabulary, contextLength (optional: name, vocabularyMultiple, publishedGlobalBatch).
            Clusters: PRESET[:NODES][@SOFTWARE] with PRESET one of \(ClusterSpec.presetNames.joined(separator: ", ")) \
            and SOFTWARE one of \(SoftwareProfile.presets.map(\.name).joined(separator: ", ")), or a JSON \
            ClusterSpec file.
            Example: MT-NLG on 280 DGX A100 nodes (published: 60.1 s per step):
              monolith plan --model mt-nlg-530b --tp 8 --pp 35 --zero 1 \\
                --recompute full --cluster dgx-a100-80gb:280@megatron-deepspeed
            With --search, options that are given are held fixed and the others are searched.
            """)

    @Option(help: "Model preset or JSON config file.") var model: String
    @Option(help: "Cluster: PRESET[:NODES][@SOFTWARE] or JSON spec file.") var cluster: String
    @Flag(help: "Use the this-machine preset's stored figures instead of measuring them.") var noMeasure = false
    @Option(help: "Tensor-parallel degree (default 1).") var tp: Int?
    @Option(help: "Pipeline-parallel degree (default 1).") var pp: Int?
    @Option(help: "Data-parallel degree (default: devices / (tp·pp)).") var dp: Int?
    @Option(help: "Model chunks per pipeline stage for interleaved 1F1B (default 1).") var virtualStages: Int?
    @Option(help: "Sequences per micro-batch (default 1).") var microBatch: Int?
    @Option(help: "Sequences per step (default: the model's published batch).") var globalBatch: Int?
    @Option(help: "Training sequence length (default: the model's context length).") var seq: Int?
    @Option(help: "ZeRO stage 0-3 (default 0).") var zero: Int?
    @Option(help: "Activation recomputation: none | selective | full (default none).") var recompute: String?
    @Option(help: "bf16 | fp16 | fp32 (default: bf16 on GPUs, fp32 on this machine).") var precision: String?
    @Flag(help: "Megatron sequence parallelism in the tensor-parallel group.") var sequenceParallel = false
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Search the layouts that fit and rank them by step time.") var search = false
    @Option(help: "Rows of the search table (default 10).") var top: Int?

    func validate() throws {
        if top != nil && !search { throw ValidationError("--top needs --search") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
    }

    /// Replaces the `this-machine` preset's figures with ones measured now: the fp32 FMA peak, the
    /// share of it a GEMM of GPT-2's shapes reaches, and memory read bandwidth. Machines of one
    /// kind differ (Intel and AMD CPUs have both been seen here), so measuring beats a table.
    func measureThisMachine(_ base: ClusterSpec) -> ClusterSpec {
        var c = base
        let peak = PeakFlops.measure(trials: 5) * 1e9
        let n = 1024, k = 768, m = 3072
        let a = FloatBuffer(count: n * k), b = FloatBuffer(count: k * m), out = FloatBuffer(count: n * m)
        var best = 0.0
        for _ in 0..<8 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            gemm(m: n, n: m, k: k, a: a.base, lda: k, b: b.base, ldb: m, beta: 0, c: out.base, ldc: m)
            best = max(best, 2 * Double(n * k * m) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
        }
        let bandwidth = MemoryBandwidth.measure()
        // A busy core can make the short FMA probe read low while the longer GEMM does not; the
        // GEMM rate is what predicts a step, so the peak is never taken below it.
        c.device.peakFP32 = max(peak, best)
        // Monolith trains in fp32 on CPUs; a bf16 rate is not measured, so none is claimed.
        c.device.peakBF16 = nil
        c.device.memoryBandwidth = bandwidth
        c.device.name = CPUFeatures.host.modelName + " (measured)"
        c.software.computeFraction = best / max(peak, best)
        if !json {
            print(String(format: "measured this machine: fp32 peak %.0f GFLOP/s, GEMM %.0f GFLOP/s (%.0f%%), memory %.1f GB/s",
                         max(peak, best) / 1e9, best / 1e9, 100 * best / max(peak, best), bandwidth / 1e9))
        }
        return c
    }

    func run() throws {
        let modelSpec = try ModelSpec.resolve(model)
        var clusterSpec = try ClusterSpec.resolve(cluster)
        if clusterSpec.name == "this-machine" && !noMeasure { clusterSpec = measureThisMachine(clusterSpec) }
        let chosenPrecision = try precision.map { try parse($0, as: Precision.self, option: "--precision") }
            ?? clusterSpec.defaultPrecision
        let chosenRecompute = try recompute.map { try parse($0, as: Recompute.self, option: "--recompute") }
        guard let batch = globalBatch ?? modelSpec.publishedGlobalBatch else {
            throw PlanInputError("--global-batch is required: \(modelSpec.name) has no published batch")
        }
        let sequence = seq ?? modelSpec.contextLength
        if search {
            try runSearch(modelSpec, clusterSpec, SearchSpace(
                globalBatch: batch, sequenceLength: sequence, precision: chosenPrecision,
                tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, virtualStages: virtualStages,
                microBatch: microBatch, zeroStage: zero, recompute: chosenRecompute,
                sequenceParallel: sequenceParallel))
            return
        }
        let t = tp ?? 1, p = pp ?? 1
        let layout = Layout(
            tensorParallel: t, pipelineParallel: p, dataParallel: dp ?? max(1, clusterSpec.deviceCount / (t * p)),
            virtualStages: virtualStages ?? 1, microBatch: microBatch ?? 1, globalBatch: batch,
            sequenceLength: sequence, zeroStage: zero ?? 0, recompute: chosenRecompute ?? .none,
            precision: chosenPrecision, sequenceParallel: sequenceParallel)
        let plan = try Planner.plan(model: modelSpec, cluster: clusterSpec, layout: layout)
        print(json ? Report.json(plan) : Report.text(plan))
        if !plan.memory.fits {
            throw PlanError.doesNotFit(needed: plan.memory.total, capacity: plan.memory.capacity,
                                       largest: plan.memory.largestTerm)
        }
    }

    private func runSearch(_ model: ModelSpec, _ cluster: ClusterSpec, _ space: SearchSpace) throws {
        let start = Date()
        var shown = false
        let result = try Search.run(model: model, cluster: cluster, space: space, top: top ?? 10) { done, total in
            // Only long searches get a progress line, so quick ones keep stderr clean.
            guard shown || Date().timeIntervalSince(start) > 1 else { return }
            shown = true
            FileHandle.standardError.write(Data("\rsearching: \(done)/\(total) layouts".utf8))
        }
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
        if json {
            print(Report.json(result))
        } else {
            print(Report.text(result, model: model, cluster: cluster))
            if let best = result.top.first {
                print("\nfastest layout in detail:\n")
                print(Report.text(best))
            }
        }
    }

    private func parse<T: RawRepresentable & CaseIterable>(_ text: String, as: T.Type, option: String) throws -> T
    where T.RawValue == String {
        if let value = T(rawValue: text.lowercased()) { return value }
        let valid = T.allCases.map(\.rawValue).joined(separator: " | ")
        throw PlanInputError("\(option) must be one of \(valid), got '\(text)'")
    }
}

/// A bad option value found while running; printed as `Error: …` with a non-zero exit, like `PlanError`.
struct PlanInputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
