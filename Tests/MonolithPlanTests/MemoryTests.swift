import Testing
@testable import MonolithPlan

/// Model-state memory against the ZeRO paper's worked numbers and MT-NLG's statement.
@Suite struct ModelStateMemoryTests {
    /// Rajbhandari et al. 2020 (ZeRO), Table 1: per-device GB of model states for a 7.5B, 128B and
    /// 1T model under P_os (stage 1), P_os+g (stage 2) and P_os+g+p (stage 3) with K = 12, as the
    /// data-parallel degree grows; `unit` is the last printed digit (the table rounds or truncates).
    static let zeroTable1: [(parameters: Double, dp: Int, stage: Int, gigabytes: Double, unit: Double)] = [
        (7.5e9, 1, 1, 120, 1), (7.5e9, 1, 2, 120, 1), (7.5e9, 1, 3, 120, 1),
        (7.5e9, 4, 1, 52.5, 0.1), (7.5e9, 4, 2, 41.3, 0.1), (7.5e9, 4, 3, 30, 1),
        (7.5e9, 16, 1, 35.6, 0.1), (7.5e9, 16, 2, 21.6, 0.1), (7.5e9, 16, 3, 7.5, 0.1),
        (7.5e9, 64, 1, 31.4, 0.1), (7.5e9, 64, 2, 16.6, 0.1), (7.5e9, 64, 3, 1.88, 0.01),
        (7.5e9, 1024, 1, 30.1, 0.1), (7.5e9, 1024, 2, 15.1, 0.1), (7.5e9, 1024, 3, 0.12, 0.01),
        (128e9, 4, 1, 896, 1), (128e9, 16, 2, 368, 1), (128e9, 64, 3, 32, 1),
        (1e12, 64, 1, 4187, 1), (1e12, 1024, 2, 2013, 1), (1e12, 1024, 3, 15.6, 0.1),
    ]

    @Test(arguments: zeroTable1.indices)
    func zeroPaperTable1(index: Int) {
        let row = Self.zeroTable1[index]
        let bytes = ModelStateBytes(precision: .fp16, zeroStage: row.stage, dataParallel: row.dp,
                                    fp32GradientBuffer: false)
        let gigabytes = row.parameters * bytes.total / 1e9
        #expect(abs(gigabytes - row.gigabytes) < row.unit,
                "\(row.parameters) params, dp \(row.dp), stage \(row.stage): \(gigabytes) GB, published \(row.gigabytes)")
    }

    /// ZeRO paper, Figure 1 and §3.1: plain data parallelism holds (2 + 2 + K)Ψ = 16 bytes per parameter,
    /// so the 7.5B model needs 120 GB of model states on every device, and GPT-2 1.5B needs 24 GB.
    @Test func sixteenBytesPerParameter() {
        let plain = ModelStateBytes(precision: .fp16, zeroStage: 0, dataParallel: 64, fp32GradientBuffer: false)
        #expect(plain.total == 16)
        #expect(plain.weights == 2 && plain.gradients == 2 && plain.optimizer == 12)
        #expect(7.5e9 * plain.total == 120e9)
        #expect(1.5e9 * plain.total == 24e9)
    }

    /// MT-NLG (Smith et al. 2022, §2.1): with 20 bytes per parameter, the training state of the 530B
    /// model exceeds 10 TB — which the ZeRO paper's 16 bytes alone would not.
    @Test func mtnlgTrainingStateExceedsTenTerabytes() {
        let parameters = Double(ModelSpec.mtnlg530b.parameterCount(tensorParallel: 8))
        let mtnlg = ModelStateBytes(precision: .bf16, zeroStage: 0, dataParallel: 1, fp32GradientBuffer: true)
        #expect(mtnlg.total == 20)
        #expect(parameters * mtnlg.total > 10e12)
        let zero = ModelStateBytes(precision: .bf16, zeroStage: 0, dataParallel: 1, fp32GradientBuffer: false)
        #expect(parameters * zero.total < 10e12)
    }

    /// fp32 training keeps weights, gradients, momentum and variance: 16 bytes, no master copy.
    @Test func fp32Adam() {
        let bytes = ModelStateBytes(precision: .fp32, zeroStage: 0, dataParallel: 1, fp32GradientBuffer: true)
        #expect(bytes.weights == 4 && bytes.gradients == 4 && bytes.optimizer == 8)
    }
}

/// Activation memory against Korthikanti et al. 2022.
@Suite struct ActivationMemoryTests {
    // A GPT-3 175B layer: s = 2048, b = 1, h = 12288, a = 96, t = 8.
    let s = 2048.0, b = 1.0, h = 12288.0, a = 96.0, t = 8.0

    func perLayer(_ recompute: Recompute, t: Double, sp: Bool) -> Double {
        ActivationMemory.perLayer(sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: t,
                                  sequenceParallel: sp, recompute: recompute)
    }

    /// Table 2 of Korthikanti et al. 2022, row by row.
    @Test func table2() {
        let sbh = s * b * h
        #expect(perLayer(.none, t: 1, sp: false) == sbh * (34 + 5 * a * s / h))            // no parallelism
        #expect(perLayer(.none, t: t, sp: false) == sbh * (10 + 24 / t + 5 * a * s / (h * t)))  // tensor
        #expect(perLayer(.none, t: t, sp: true) == sbh * (34 / t + 5 * a * s / (h * t)))   // tensor + sequence
        #expect(perLayer(.selective, t: t, sp: false) == sbh * (10 + 24 / t))              // + selective
        #expect(perLayer(.selective, t: t, sp: true) == sbh * 34 / t)
        #expect(perLayer(.full, t: t, sp: false) == 2 * sbh)                                 // full recompute
        #expect(perLayer(.full, t: t, sp: true) == 2 * sbh / t)
    }

    /// fp32 activations take twice the bytes.
    @Test func fp32DoublesActivations() {
        let half = perLayer(.none, t: 1, sp: false)
        let full = ActivationMemory.perLayer(sequence: s, microBatch: b, hidden: h, heads: a, tensorParallel: 1,
                                             sequenceParallel: false, recompute: .none, elementBytes: 4)
        #expect(full == 2 * half)
    }

    /// Korthikanti et al. 2022, abstract and §5: sequence parallelism with selective recomputation
    /// cuts activation memory about 5× against tensor parallelism alone, for their 175B, 530B and 1T
    /// models (all at t = 8).
    @Test(arguments: ["gpt3-175b", "mt-nlg-530b", "megatron-1t"])
    func fiveFoldReduction(model name: String) throws {
        let model = try ModelSpec.preset(named: name)
        func bytes(_ recompute: Recompute, _ sp: Bool) -> Double {
            ActivationMemory.perLayer(sequence: 2048, microBatch: 1, hidden: Double(model.hidden),
                                      heads: Double(model.heads), tensorParallel: 8, sequenceParallel: sp,
                                      recompute: recompute)
        }
        let ratio = bytes(.none, false) / bytes(.selective, true)
        #expect(ratio > 4.5 && ratio < 5.5, "\(name): \(ratio)×")
    }

    /// 1F1B: the first stage holds p micro-batches of l/p layers, i.e. all l layers' worth; interleaving
    /// raises that to l(1 + (p − 1)/(pv)) (Korthikanti et al. 2022, §4.2.3).
    @Test(arguments: [(4, 1), (4, 2), (8, 2), (35, 3), (64, 2)])
    func firstStageHoldsTheWholeModelsWorth(p: Int, v: Int) {
        let layers = 840
        let chunks = ActivationMemory.chunksInFlight(stage: 0, pipeline: p, virtualStages: v, microBatches: 1000)
        let layersHeld = Double(chunks) * Double(layers) / Double(p * v)
        let expected = v == 1 ? Double(layers) : Double(layers) * (1 + Double(p - 1) / Double(p * v))
        #expect(layersHeld == expected)
        // The last stage of plain 1F1B holds a single micro-batch.
        #expect(ActivationMemory.chunksInFlight(stage: p - 1, pipeline: p, virtualStages: 1, microBatches: 1000) == 1)
        // Fewer micro-batches than stages: only those exist.
        #expect(ActivationMemory.chunksInFlight(stage: 0, pipeline: p, virtualStages: 1, microBatches: 2) == min(2, p))
    }

    /// Recomputation trades memory for time in the right direction on a whole plan.
    @Test func recomputationOrdersMemoryAndTime() throws {
        let model = try ModelSpec.preset(named: "gpt3-175b")
        var cluster = ClusterSpec.dgxA100
        cluster.nodes = 64
        let plans = try Recompute.allCases.map { recompute in
            try Planner.plan(model: model, cluster: cluster, layout: Layout(
                tensorParallel: 8, pipelineParallel: 8, dataParallel: 8, microBatch: 1, globalBatch: 1536,
                sequenceLength: 2048, zeroStage: 1, recompute: recompute))
        }
        #expect(plans[0].memory.activations > plans[1].memory.activations)
        #expect(plans[1].memory.activations > plans[2].memory.activations)
        #expect(plans[0].time.total < plans[1].time.total && plans[1].time.total < plans[2].time.total)
    }
}
