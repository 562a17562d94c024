import Testing
@testable import MonolithData

/// megatron-core's compiled helpers (`helpers_cpp`) on assorted inputs (`blending.json`).
struct BlendingFixture: Decodable {
    struct Weighted: Decodable { var weights: [Double]; var size: Int; var dataset_index: [Int16]; var dataset_sample_index: [Int64] }
    struct Exhaustive: Decodable { var sizes: [Int]; var dataset_index: [Int16]; var dataset_sample_index: [Int64] }
    struct SampleIdx: Decodable {
        var sizes: [Int32]; var document_index: [Int32]; var sequence_length: Int; var epochs: Int
        var tokens_per_epoch: Int; var sample_index: [Int64]
    }
    var weighted: [Weighted]
    var exhaustive: [Exhaustive]
    var sample_idx: [SampleIdx]
}

/// Blending and sample indices against megatron-core's C++ helpers, and the NumPy generator.
@Suite("Blending and sample indices vs megatron-core helpers")
struct BlendingTests {
    static let fixture = try! loadFixture(BlendingFixture.self, "blending.json")

    @Test("build_blending_indices", arguments: 0..<fixture.weighted.count)
    func weighted(i: Int) {
        let c = Self.fixture.weighted[i]
        let (dataset, sample) = BlendingIndex.build(weights: c.weights, size: c.size)
        #expect(dataset == c.dataset_index)
        #expect(sample == c.dataset_sample_index)
        // Every prefix stays within two samples of the exact proportions (random sampling would
        // drift by ~√n).
        var counts = [Int](repeating: 0, count: c.weights.count)
        for (k, d) in dataset.enumerated() {
            counts[Int(d)] += 1
            for j in counts.indices { #expect(abs(Double(counts[j]) - c.weights[j] * Double(k + 1)) <= 2.0) }
        }
    }

    @Test("build_exhaustive_blending_indices", arguments: 0..<fixture.exhaustive.count)
    func exhaustive(i: Int) {
        let c = Self.fixture.exhaustive[i]
        let (dataset, sample) = BlendingIndex.buildExhaustive(sizes: c.sizes)
        #expect(dataset == c.dataset_index)
        #expect(sample == c.dataset_sample_index)
    }

    @Test("build_sample_idx", arguments: 0..<fixture.sample_idx.count)
    func sampleIndex(i: Int) {
        let c = Self.fixture.sample_idx[i]
        let got = GPTIndices.buildSampleIndex(sizes: c.sizes, documentIndex: c.document_index, sequenceLength: c.sequence_length,
                                              epochs: c.epochs, tokensPerEpoch: c.tokens_per_epoch, extra: 1)
        #expect(got == c.sample_index)
    }

    @Test("MT19937 outputs and shuffles equal NumPy's RandomState")
    func numpyRandomState() {
        // numpy: MT19937()._legacy_seeding(1234); random_raw(5)
        var rng = NumpyRandomState(seed: 1234)
        #expect((0..<5).map { _ in rng.nextUInt32() } == [822_569_775, 2_137_449_171, 2_671_936_806, 3_512_589_365, 1_880_026_316])
        // numpy: RandomState(0).shuffle(arange(10))
        var zero = NumpyRandomState(seed: 0)
        var a = Array(0..<10)
        zero.shuffle(&a)
        #expect(a == [2, 8, 4, 9, 1, 6, 7, 3, 0, 5])
        var top = NumpyRandomState(seed: 4_294_967_295)
        var b = Array(0..<20)
        top.shuffle(&b)
        #expect(b == [11, 17, 19, 15, 1, 5, 8, 16, 13, 18, 14, 9, 10, 6, 0, 4, 7, 12, 2, 3])
    }

    @Test("--data-path parsing follows get_blend_from_list")
    func blendParsing() throws {
        let w = try BlendSpecification(["0.3", "a", "0.7", "b"])
        #expect(w.prefixes == ["a", "b"] && w.weights == [0.3, 0.7])
        #expect(try BlendSpecification(["a", "b"]).weights == nil)
        #expect(try BlendSpecification(["a"]).prefixes == ["a"])
        #expect(try BlendSpecification(["30", "a", "70", "b"]).normalizedWeights == [0.3, 0.7])
        #expect(throws: DataError.self) { try BlendSpecification(["-1", "a", "2", "b"]) }
    }
}
