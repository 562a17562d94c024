import Foundation
import Testing
@testable import MonolithPlan

/// Every broken rule is refused with a message that names it.
@Suite struct LayoutValidationTests {
    static let model = ModelSpec.mtnlg530b  // 105 layers, 128 heads
    static var cluster: ClusterSpec {
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = 280
        return cluster
    }
    static let valid = Layout(tensorParallel: 8, pipelineParallel: 35, dataParallel: 8, microBatch: 1,
                              globalBatch: 1920, sequenceLength: 2048, zeroStage: 1, recompute: .full)

    /// MT-NLG's own layout passes, and the numbers the planner derives from it are MT-NLG's:
    /// 8·35·8 = 2240 devices, 1920 / (8·1) = 240 micro-batches per step, bubble 34/240, 3 layers
    /// per stage (Smith et al. 2022, §2.4).
    @Test func theValidLayoutPasses() throws {
        try Self.valid.validate(model: Self.model, cluster: Self.cluster)
        #expect(Self.valid.worldSize == 2240 && Self.cluster.deviceCount == 2240)
        #expect(Self.valid.microBatchesPerStep == 240)
        #expect(Self.valid.bubbleFraction == 34.0 / 240.0)
        #expect(Self.model.layers / (Self.valid.pipelineParallel * Self.valid.virtualStages) == 3)
        // The same layout interleaved 3 ways on 105 = 35·3 layers also passes, and its bubble is a third.
        var interleaved = Self.valid
        interleaved.virtualStages = 3
        interleaved.globalBatch = 35 * 8 * 8  // 280 micro-batches per step, a multiple of pp 35
        try interleaved.validate(model: Self.model, cluster: Self.cluster)
        #expect(interleaved.bubbleFraction == 34.0 / (3 * 280))
    }

    /// One broken rule per case, and the constraint the error must name.
    enum Breakage: String, CaseIterable, Sendable {
        case worldSize, heads, layers, batch, interleavedMicroBatches, zero, degree, sequence, precision

        var constraint: String {
            switch self {
            case .worldSize: return "tp·pp·dp = nodes·devices per node"
            case .heads: return "heads % tp == 0"
            case .layers: return "layers % (pp·virtual stages) == 0"
            case .batch: return "global batch % (dp·micro-batch) == 0"
            case .interleavedMicroBatches: return "micro-batches % pp == 0 when interleaving"
            case .zero: return "zero ∈ {0, 1, 2, 3}"
            case .degree: return "tp ≥ 1"
            case .sequence: return "sequence length ≤ model context length"
            case .precision: return "precision supported by the device"
            }
        }

        /// The error's detail: the offending values, as the user gave them.
        var detail: String {
            switch self {
            case .worldSize: return "8·35·7 = 1960 but the cluster has 280·8 = 2240 devices"
            case .heads: return "128 heads cannot be split over tp 5"
            case .layers: return "105 layers cannot be split into 35·2 = 70 equal chunks"
            case .batch: return "1920 sequences do not split into dp 8 × micro-batch 7"
            case .interleavedMicroBatches: return "240 micro-batches per step are not a multiple of pp 35"
            case .zero: return "zero is 4"
            case .degree: return "tp is 0"
            case .sequence: return "4096 > 2048 position embeddings"
            case .precision: return "A100-SXM4-80GB has no fp16 figure; supported: bf16, fp32"
            }
        }

        func apply(to layout: inout Layout, cluster: inout ClusterSpec) {
            switch self {
            case .worldSize: layout.dataParallel = 7
            case .heads: layout.tensorParallel = 5; cluster.nodes = 175  // 128 heads over tp 5, 5·35·8 devices
            case .layers: layout.virtualStages = 2          // 105 layers over 35·2 chunks
            case .batch: layout.microBatch = 7               // 1920 over 8·7
            case .interleavedMicroBatches: layout.virtualStages = 3  // 240 micro-batches, pp 35
            case .zero: layout.zeroStage = 4
            case .degree: layout.tensorParallel = 0
            case .sequence: layout.sequenceLength = 4096
            case .precision: layout.precision = .fp16; cluster.device.peakFP16 = nil
            }
        }
    }

    @Test(arguments: Breakage.allCases)
    func brokenRuleIsNamed(breakage: Breakage) {
        var layout = Self.valid
        var cluster = Self.cluster
        breakage.apply(to: &layout, cluster: &cluster)
        let error = #expect(throws: PlanError.self) { try layout.validate(model: Self.model, cluster: cluster) }
        #expect(error == .invalidLayout(constraint: breakage.constraint, detail: breakage.detail))
        #expect(error.map { "\($0)" } == "invalid layout: \(breakage.constraint) is violated: \(breakage.detail)")
    }

    /// Interleaving needs a pipeline.
    @Test func virtualStagesNeedAPipeline() {
        let layout = Layout(tensorParallel: 8, pipelineParallel: 1, dataParallel: 1, virtualStages: 3,
                            globalBatch: 8, sequenceLength: 2048)
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = 1
        var model = Self.model
        model.layers = 3
        #expect(throws: PlanError.invalidLayout(constraint: "virtual stages > 1 needs pp > 1",
                                                detail: "interleaving 3 chunks on a single stage has no pipeline")) {
            try layout.validate(model: model, cluster: cluster)
        }
    }

    /// A model whose hidden size does not split into heads is refused before any layout.
    @Test func badModel() {
        var model = Self.model
        model.heads = 100
        let error = #expect(throws: PlanError.self) { try Self.valid.validate(model: model, cluster: Self.cluster) }
        #expect(error.map { "\($0)" }
                == "invalid model: hidden % heads == 0 is violated: hidden 20480 is not divisible by 100 heads")
    }
}

/// Presets, specs and files.
@Suite struct PresetTests {
    @Test func clusterSpecWithNodesAndSoftware() throws {
        let cluster = try ClusterSpec.resolve("dgx-a100-80gb:280@megatron-deepspeed")
        #expect(cluster.deviceCount == 2240)
        #expect(cluster.software == .megatronDeepSpeed)
        #expect(try ClusterSpec.resolve("dgx-h100").deviceCount == 8)
        #expect(try ClusterSpec.resolve("this-machine").software == .measuredCPU)
    }

    @Test func unknownPresetsListTheValidOnes() {
        for (call, valid) in [({ _ = try ModelSpec.resolve("gpt5") }, ModelSpec.presetNames),
                              ({ _ = try ClusterSpec.resolve("tpu-v4:8") }, ClusterSpec.presetNames),
                              ({ _ = try ClusterSpec.resolve("dgx-a100-80gb:2@pytorch") }, SoftwareProfile.presets.map(\.name))]
            as [(() throws -> Void, [String])] {
            #expect {
                try call()
            } throws: { error in
                let message = "\(error)"
                return message.contains("unknown") && valid.allSatisfy { message.contains($0) }
            }
        }
    }

    @Test(arguments: ["dgx-a100-80gb:0", "dgx-a100-80gb:many", "dgx-a100-80gb:"])
    func badNodeCount(spec: String) {
        #expect(throws: PlanError.self) { try ClusterSpec.resolve(spec) }
    }

    /// A model config written as JSON may leave out the optional fields; a cluster round-trips.
    @Test func jsonFiles() throws {
        let directory = FileManager.default.temporaryDirectory
        let modelURL = directory.appendingPathComponent("plan-test-model-\(UUID().uuidString).json")
        try Data(#"{"layers": 2, "hidden": 64, "heads": 4, "vocabulary": 100, "contextLength": 32}"#.utf8).write(to: modelURL)
        defer { try? FileManager.default.removeItem(at: modelURL) }
        let model = try ModelSpec.resolve(modelURL.path)
        #expect(model.layers == 2 && model.vocabularyMultiple == 128 && model.publishedGlobalBatch == nil)

        let clusterURL = directory.appendingPathComponent("plan-test-cluster-\(UUID().uuidString).json")
        var cluster = ClusterSpec.dgxH100
        cluster.nodes = 4
        try Data(Report.json(cluster).utf8).write(to: clusterURL)
        defer { try? FileManager.default.removeItem(at: clusterURL) }
        #expect(try ClusterSpec.resolve(clusterURL.path) == cluster)
    }

    @Test func badJSONNamesTheField() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plan-test-bad-\(UUID().uuidString).json")
        try Data(#"{"layers": 2, "hidden": 64}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect {
            try ModelSpec.resolve(url.path)
        } throws: { "\($0)".contains("heads") }
        #expect(throws: PlanError.self) { try ModelSpec.resolve("/nonexistent/model.json") }
    }

    /// CPUs default to fp32 (bf16 runs at half rate there), GPUs to bf16.
    @Test func defaultPrecision() {
        #expect(ClusterSpec.thisMachine.defaultPrecision == .fp32)
        #expect(ClusterSpec.dgxA100.defaultPrecision == .bf16)
    }
}
