import Foundation
import Testing
@testable import MonolithData

/// The batch loader: Megatron's contiguous micro-batch sharding, and save/resume.
@Suite("Batch loader")
struct BatchLoaderTests {
    static func dataset(samples: Int = 300, seed: UInt32 = 1234) throws -> GPTDataset {
        var config = GPTDatasetConfig(sequenceLength: 16)
        config.seed = seed
        return try GPTDataset(dataset: IndexedDataset(prefix: Paths.megatron + "/uint16_docs"), split: .train,
                              samples: samples, config: config, useCache: false)
    }

    @Test("rank r of d reads the contiguous slice r·B..<(r+1)·B of each step", arguments: [(1, 1), (2, 2), (4, 3), (3, 4)])
    func sharding(microBatch: Int, ranks: Int) throws {
        let source = try Self.dataset()
        let loaders = try (0..<ranks).map { try BatchLoader(source: source, microBatchSize: microBatch, rank: $0, dataParallelSize: ranks) }
        var seen: [Int] = []
        var step = 0
        while true {
            let ids = loaders.map(\.nextSampleIDs)
            if ids[0] == nil { #expect(ids.allSatisfy { $0 == nil }); break }
            for (r, loader) in loaders.enumerated() {
                let expected = (step * microBatch * ranks + r * microBatch)..<(step * microBatch * ranks + (r + 1) * microBatch)
                #expect(ids[r] == expected)
                let batch = loader.next()!
                #expect(batch.count == microBatch * 17)
                for (row, id) in expected.enumerated() {
                    #expect(Array(batch[row * 17..<(row + 1) * 17]) == source.sample(id))
                }
                seen += Array(expected)
            }
            step += 1
        }
        // Every sample once, except the dropped partial last step.
        #expect(seen == Array(0..<(source.sampleCount / (microBatch * ranks)) * microBatch * ranks))
    }

    @Test("a restored loader continues exactly where the saved one stopped")
    func saveAndResume() throws {
        let source = try Self.dataset()
        let straight = try BatchLoader(source: source, microBatchSize: 4, rank: 1, dataParallelSize: 2)
        var expected: [[Int32]] = []
        while let b = straight.next() { expected.append(b) }

        let first = try BatchLoader(source: source, microBatchSize: 4, rank: 1, dataParallelSize: 2)
        var got: [[Int32]] = []
        for _ in 0..<7 { got.append(first.next()!) }
        let saved = try JSONEncoder().encode(first.state)
        let state = try JSONDecoder().decode(LoaderState.self, from: saved)
        #expect(state.consumedSamples == 7 * 8)
        let resumed = try BatchLoader(source: source, microBatchSize: 4, rank: 1, dataParallelSize: 2, state: state)
        while let b = resumed.next() { got.append(b) }
        #expect(got == expected)
    }

    @Test("the position is global: it resumes under another data-parallel size")
    func resumeWithOtherWorldSize() throws {
        let source = try Self.dataset()
        let two = try BatchLoader(source: source, microBatchSize: 2, rank: 0, dataParallelSize: 2)
        for _ in 0..<5 { _ = two.next() }
        let one = try BatchLoader(source: source, microBatchSize: 2, rank: 0, dataParallelSize: 1, state: two.state)
        #expect(one.nextSampleIDs == 20..<22)
    }

    @Test("a saved position from another dataset or seed is refused")
    func refusesForeignState() throws {
        let a = try BatchLoader(source: Self.dataset(seed: 1), microBatchSize: 2)
        _ = a.next()
        #expect(throws: DataError.self) { try BatchLoader(source: Self.dataset(seed: 2), microBatchSize: 2, state: a.state) }
        #expect(throws: DataError.self) { try BatchLoader(source: Self.dataset(samples: 301, seed: 1), microBatchSize: 2, state: a.state) }
        #expect(throws: DataError.self) { try BatchLoader(source: Self.dataset(), microBatchSize: 2, rank: 2, dataParallelSize: 2) }
    }
}
