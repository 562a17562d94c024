import Foundation
import Testing
@testable import MonolithData

/// One megatron-core GPTDataset / BlendedDataset build recorded in `gpt.json`.
struct GPTCase: Decodable, CustomTestStringConvertible {
    struct Split: Decodable {
        var num_samples: Int?
        var document_index: [Int32]?
        var sample_index: [Int64]?
        var shuffle_index: [Int64]?
        var size: Int?
        var dataset_index: [Int16]?
        var dataset_sample_index: [Int64]?
        var samples: [String: [Int32]]
    }
    var prefixes: [String]
    var weights: [Double]?
    var split: String
    var seed: UInt32
    var sequence_length: Int
    var sizes: [Int?]
    var splits: [Split?]
    var testDescription: String {
        "\(prefixes.joined(separator: "+")) \(weights.map { "\($0)" } ?? "") split \(split) seed \(seed) T \(sequence_length) sizes \(sizes)"
    }
}

/// Megatron's GPT dataset semantics, against megatron-core's own output.
///
/// `gpt.json` holds what megatron-core's `BlendedMegatronDatasetBuilder` built on the fixture
/// datasets: per split the document, sample and shuffle indices and a few samples' tokens; for
/// weighted blends the blending indices. Equality here means a Monolith run trains on exactly the
/// token stream a Megatron run with the same `--seed --split --seq-length` would.
@Suite("GPT dataset vs megatron-core")
struct GPTDatasetTests {
    static let cases = (try? loadFixture([GPTCase].self, "gpt.json")) ?? []

    @Test("indices and samples equal megatron-core's", arguments: cases)
    func matchesMegatron(c: GPTCase) throws {
        #expect(!Self.cases.isEmpty)
        var config = GPTDatasetConfig(sequenceLength: c.sequence_length)
        config.seed = c.seed
        config.split = c.split
        let blend = try BlendSpecification(c.weights.map { w in zip(w, c.prefixes).flatMap { ["\($0)", Paths.megatron + "/" + $1] } }
                                           ?? c.prefixes.map { Paths.megatron + "/" + $0 })
        let built = try GPTDatasetBuilder.build(blend: blend, config: config, sizes: c.sizes, useCache: false)
        for split in DatasetSplit.allCases {
            let expected = c.splits[split.rawValue]
            let got = built[split.rawValue]
            #expect((expected == nil) == (got == nil), "\(split): presence differs")
            guard let expected, let got else { continue }
            if let gpt = got as? GPTDataset {
                #expect(gpt.indices.documentIndex == expected.document_index!, "\(split) document index")
                #expect(gpt.indices.sampleIndex == expected.sample_index!, "\(split) sample index")
                #expect(gpt.indices.shuffleIndex == expected.shuffle_index!, "\(split) shuffle index")
            } else if let blended = got as? BlendedDataset {
                #expect(blended.sampleCount == expected.size!)
                #expect(blended.datasetIndex == expected.dataset_index!, "\(split) dataset index")
                #expect(blended.datasetSampleIndex == expected.dataset_sample_index!, "\(split) dataset sample index")
            }
            for (key, tokens) in expected.samples {
                #expect(got.sample(Int(key)!) == tokens, "\(split) sample \(key)")
            }
        }
    }

    @Test("Megatron's split boundaries, with Python's round-half-even")
    func splitRanges() throws {
        let s = try SplitSpecification("969,30,1")
        #expect(s.range(of: .train, count: 120) == 0..<116)
        #expect(s.range(of: .valid, count: 120) == 116..<120)
        #expect(s.range(of: .test, count: 120) == 120..<120)
        let two = try SplitSpecification("99,1")
        #expect(two.range(of: .test, count: 1000) == nil)
        // 0.5 · 5 = 2.5 rounds to 2 (half to even), not 3.
        #expect(try SplitSpecification("1,1").range(of: .train, count: 5) == 0..<2)
        #expect(try SplitSpecification("1,1").range(of: .valid, count: 5) == 2..<5)
        #expect(try SplitSpecification("1,1,2").range(of: .valid, count: 10) == 2..<5)
        #expect(throws: DataError.self) { try SplitSpecification("0,0,0") }
        #expect(throws: DataError.self) { try SplitSpecification("1,2,3,4") }
    }

    @Test("samples concatenate the shuffled documents, crossing boundaries and epochs")
    func samplesTileTheDocumentStream() throws {
        // Documents whose tokens encode (document, position), so any misplaced token is visible.
        let sizes: [Int32] = [5, 1, 9, 3, 12, 2, 7]
        let indices = try GPTIndices.build(sizes: sizes, documents: 0..<sizes.count, requestedSamples: 40,
                                           sequenceLength: 4, seed: 3)
        #expect(indices.epochs > 1, "the request must span several epochs")
        // The stream of documents in document-index order, each token tagged.
        let stream = indices.documentIndex.flatMap { d in (0..<sizes[Int(d)]).map { Int(d) * 100 + Int($0) } }
        for k in 0..<indices.sampleCount {
            let (p0, o0) = (Int(indices.sampleIndex[2 * k]), Int(indices.sampleIndex[2 * k + 1]))
            let start = indices.documentIndex[..<p0].reduce(0) { $0 + Int(sizes[Int($1)]) } + o0
            // Sample k starts 4·k tokens into the stream and holds 5: each sample's last token is
            // the next sample's first.
            #expect(start == 4 * k, "sample \(k) starts at \(start)")
        }
        #expect(stream.count >= 4 * indices.sampleCount + 1)
        #expect(indices.sampleCount >= 40)
        #expect(Set(indices.shuffleIndex) == Set(0..<Int64(indices.sampleCount)))
    }

    @Test("indices are cached beside the data and reused; another seed misses the cache")
    func cache() throws {
        let dir = TemporaryDirectory()
        for ext in [".bin", ".idx"] {
            try FileManager.default.copyItem(atPath: Paths.megatron + "/uint16_docs" + ext, toPath: dir.file("c" + ext))
        }
        let data = try IndexedDataset(prefix: dir.file("c"))
        var config = GPTDatasetConfig(sequenceLength: 16)
        let first = try GPTDataset(dataset: data, split: .train, samples: 500, config: config)
        #expect(!first.loadedFromCache)
        let cached = try FileManager.default.contentsOfDirectory(atPath: dir.file("cache/GPTDataset_indices"))
        #expect(cached.filter { $0.hasSuffix(".npy") }.count == 3 && cached.contains { $0.hasSuffix("-description.txt") })
        let second = try GPTDataset(dataset: data, split: .train, samples: 500, config: config)
        #expect(second.loadedFromCache)
        #expect(second.indices == first.indices)
        #expect((0..<second.sampleCount).allSatisfy { second.sample($0) == first.sample($0) })
        config.seed = 99
        let other = try GPTDataset(dataset: data, split: .train, samples: 500, config: config)
        #expect(!other.loadedFromCache)
        #expect(other.indices.shuffleIndex != first.indices.shuffleIndex)
    }

    @Test("an empty split gives no samples, and asking it for samples is an error")
    func emptySplit() throws {
        let indices = try GPTIndices.build(sizes: [4, 4], documents: 2..<2, requestedSamples: nil, sequenceLength: 4, seed: 1)
        #expect(indices.sampleCount == 0)
        #expect(throws: DataError.self) {
            try GPTIndices.build(sizes: [4, 4], documents: 2..<2, requestedSamples: 3, sequenceLength: 4, seed: 1)
        }
    }
}
