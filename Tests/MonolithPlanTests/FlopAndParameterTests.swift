import Testing
@testable import MonolithPlan

@Suite struct FlopAndParameterTests {
    /// Narayanan et al. 2021, Table 1, "Number of parameters (billion)", to the printed decimal.
    @Test(arguments: [("megatron-1.7b", 1.7), ("megatron-3.6b", 3.6), ("megatron-7.5b", 7.5),
                      ("megatron-18.4b", 18.4), ("megatron-39.1b", 39.1), ("megatron-76.1b", 76.1),
                      ("megatron-145.6b", 145.6), ("megatron-310.1b", 310.1), ("megatron-529.6b", 529.6),
                      ("megatron-1t", 1008.0)])
    func narayananParameterCounts(name: String, billions: Double) throws {
        let count = Double(try ModelSpec.preset(named: name).parameterCount(tensorParallel: 8))
        #expect((count / 1e8).rounded() / 10 == billions, "\(name): \(count)")
    }

    /// GPT-2 small has 124,439,808 parameters with tied embeddings (the released checkpoint); GUIDE.md's
    /// MFU count leaves out the 786,432 position embeddings: N = 123,653,376.
    @Test func gpt2SmallParameterCount() throws {
        let model = try ModelSpec.preset(named: "gpt2-124m")
        #expect(model.parameterCount() == 124_439_808)
        #expect(model.nonEmbeddingPositionParameterCount() == 123_653_376)
    }

    /// MT-NLG's vocabulary of 50,257 is padded to 51,200 at tp 8 (multiple of 128·8), giving the
    /// 529.6B the papers quote (Narayanan et al. 2021, Table 1; Smith et al. 2022).
    @Test func mtnlgPaddedVocabulary() {
        #expect(ModelSpec.mtnlg530b.paddedVocabulary(tensorParallel: 8) == 51200)
        #expect(ModelSpec.mtnlg530b.paddedVocabulary(tensorParallel: 1) == 50304)
        #expect((Double(ModelSpec.mtnlg530b.parameterCount(tensorParallel: 8)) / 1e8).rounded() / 10 == 529.6)
    }

    /// With full recomputation our layer-by-layer count is exactly Narayanan et al.'s closed form.
    @Test(arguments: ModelSpec.presets)
    func fullRecomputeMatchesNarayananFormula(model: ModelSpec) {
        let v = Double(model.paddedVocabulary(tensorParallel: 1))
        let ours = FlopCount.hardware(model: model, batch: 512, sequence: 2048, vocabulary: v, recompute: .full)
        let theirs = FlopCount.narayanan(batch: 512, sequence: 2048, layers: Double(model.layers),
                                         hidden: Double(model.hidden), vocabulary: v)
        #expect(abs(ours / theirs - 1) < 1e-12)
    }

    /// MT-NLG converted its iteration times to TFLOP/s with that formula: 60.1 / 50.2 / 44.4 s on
    /// 2240 / 2800 / 3360 GPUs are 126 / 121 / 113 TFLOP/s (Smith et al. 2022, §2.4).
    @Test(arguments: [(2240.0, 60.1, 126.0), (2800.0, 50.2, 121.0), (3360.0, 44.4, 113.0)])
    func mtnlgPublishedConversion(gpus: Double, seconds: Double, tflops: Double) {
        let flops = FlopCount.narayanan(batch: 1920, sequence: 2048, layers: 105, hidden: 20480, vocabulary: 51200)
        #expect(abs(flops / (gpus * seconds) / 1e12 / tflops - 1) < 0.005)
    }

    /// GUIDE.md: gpt2-124M at B = 4, T = 256 is 788.7 GFLOP per step by 6N + 12LCT per token; our
    /// matmul-only count (biases and norms left out) agrees to 0.2%.
    @Test func gpt2StepFlops() throws {
        let model = try ModelSpec.preset(named: "gpt2-124m")
        let flops = FlopCount.model(model: model, batch: 4, sequence: 256, vocabulary: 50257)
        #expect(abs(flops / 788.7e9 - 1) < 0.002, "\(flops)")
    }

    /// Selective recomputation costs only the attention core's forward again.
    @Test func selectiveRecomputeCost() throws {
        let model = try ModelSpec.preset(named: "gpt3-175b")
        let none = FlopCount.hardware(model: model, batch: 1, sequence: 2048, vocabulary: 51200, recompute: .none)
        let selective = FlopCount.hardware(model: model, batch: 1, sequence: 2048, vocabulary: 51200, recompute: .selective)
        let full = FlopCount.hardware(model: model, batch: 1, sequence: 2048, vocabulary: 51200, recompute: .full)
        #expect(selective > none && selective < full)
        // Selective reruns only the attention core (~1% more FLOPs for GPT-3 by this count), full reruns
        // the whole forward (+33%): the trade Korthikanti et al. 2022 (§5) build on.
        #expect(selective / none - 1 < 0.03)
        #expect(full / none - 1 > 0.30)
    }
}
