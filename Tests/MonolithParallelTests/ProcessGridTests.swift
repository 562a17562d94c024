import MonolithModel
@testable import MonolithParallel
import Testing

/// The rank grid in Megatron's order, its groups, and the layout checks of issue #6.
@Suite("Process grid")
struct ProcessGridTests {
    /// The worked example in ProcessGrid's documentation, which is Megatron's own 16-rank example.
    @Test("16 ranks, tp 2 × pp 4 × dp 2: the documented groups")
    func workedExample() throws {
        let grid = try ProcessGrid(tensorParallel: 2, pipelineParallel: 4, dataParallel: 2)
        #expect(grid.tensorGroups == stride(from: 0, to: 16, by: 2).map { [$0, $0 + 1] })
        #expect(grid.dataGroups == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9, 11], [12, 14], [13, 15]])
        #expect(grid.pipelineGroups == [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15]])
        #expect(grid.embeddingGroups == [[0, 12], [1, 13], [2, 14], [3, 15]])
        #expect(grid.modelParallelGroups == [[0, 1, 4, 5, 8, 9, 12, 13], [2, 3, 6, 7, 10, 11, 14, 15]])
        #expect(grid.coordinates(of: 6) == .init(tp: 0, dp: 1, pp: 1))
        #expect(grid.embeddingGroup(containing: 6) == nil)
        #expect(grid.logPrefix(rank: 6) == "[tp 0/2 dp 1/2 pp 1/4]")
    }

    @Test("coordinates and ranks are inverse; every group partitions the world",
          arguments: [(1, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2), (2, 2, 2), (4, 1, 1), (1, 4, 1), (1, 1, 4), (2, 3, 2)])
    func partitions(tp: Int, pp: Int, dp: Int) throws {
        let grid = try ProcessGrid(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp)
        for r in 0..<grid.worldSize { #expect(grid.rank(of: grid.coordinates(of: r)) == r) }
        for (groups, size) in [(grid.tensorGroups, tp), (grid.pipelineGroups, pp), (grid.dataGroups, dp),
                               (grid.modelParallelGroups, tp * pp)] {
            #expect(groups.allSatisfy { $0.count == size })
            #expect(groups.flatMap { $0 }.sorted() == Array(0..<grid.worldSize))
        }
        #expect(grid.embeddingGroups.count == tp * dp)
    }

    @Test("dp is inferred from the world size, or the error says why not")
    func inferredDataParallel() throws {
        #expect(try ProcessGrid(worldSize: 8, tensorParallel: 2, pipelineParallel: 2).dataParallel == 2)
        #expect(throws: LayoutError.self) { try ProcessGrid(worldSize: 6, tensorParallel: 4, pipelineParallel: 1) }
        let grid = try ProcessGrid(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2)
        let error = #expect(throws: LayoutError.self) { try grid.validate(worldSize: 4) }
        #expect(error?.description == "invalid parallel layout: tp · pp · dp == world size does not hold: tp 2 × pp 2 × dp 2 needs 8 ranks, but the world has 4")
    }

    static let badLayouts: [(tp: Int, pp: Int, dp: Int, micro: Int, global: Int, v: Int, constraint: String)] = [
        (5, 1, 1, 1, 8, 1, "n_head % tp == 0"),
        (1, 3, 1, 1, 8, 1, "n_layer % (pp · virtual stages) == 0"),
        (1, 2, 1, 1, 8, 4, "n_layer % (pp · virtual stages) == 0"),
        (1, 1, 1, 1, 8, 2, "virtual stages > 1 needs pp > 1"),
        (1, 1, 3, 1, 8, 1, "global batch % (dp · micro-batch) == 0"),
        (1, 1, 2, 3, 8, 1, "global batch % (dp · micro-batch) == 0"),
        (1, 2, 1, 1, 3, 2, "micro-batches % pp == 0 (interleaved 1F1B)"),
        (1, 1, 1, 0, 8, 1, "micro-batch ≥ 1"),
    ]

    @Test("a layout that does not divide the model names the constraint", arguments: badLayouts)
    func invalidLayouts(layout: (tp: Int, pp: Int, dp: Int, micro: Int, global: Int, v: Int, constraint: String)) throws {
        let model = GPTConfig(nLayer: 4, nHead: 4, nEmbd: 64, vocabSize: 1000)
        let grid = try ProcessGrid(tensorParallel: layout.tp, pipelineParallel: layout.pp, dataParallel: layout.dp)
        let error = #expect(throws: LayoutError.self) {
            try grid.validate(model: model, microBatch: layout.micro, globalBatch: layout.global, virtualStages: layout.v)
        }
        #expect(error?.constraint == layout.constraint)
    }

    @Test("width constraints: n_embd and 4·n_embd must split over tp")
    func widthConstraints() throws {
        // 6 heads over tp 3 is fine, but n_embd 64 is not divisible by 3.
        let grid = try ProcessGrid(tensorParallel: 3, pipelineParallel: 1, dataParallel: 1)
        let error = #expect(throws: LayoutError.self) {
            try grid.validate(model: GPTConfig(nLayer: 2, nHead: 6, nEmbd: 64), microBatch: 1, globalBatch: 1)
        }
        #expect(error?.constraint == "n_embd % tp == 0")
    }

    @Test("per-rank shapes and Megatron's vocabulary padding")
    func shardShape() throws {
        let grid = try ProcessGrid(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2)
        let shape = try grid.validate(model: GPTConfig(), microBatch: 2, globalBatch: 32, virtualStages: 2)
        #expect(shape == ShardShape(headsPerRank: 6, widthPerRank: 384, mlpWidthPerRank: 1536, paddedVocabulary: 50432,
                                    vocabularyPerRank: 25216, layersPerChunk: 3, microBatches: 8))
        #expect(VocabShard.paddedVocabulary(50257, tensorParallel: 1) == 50304)
        #expect(VocabShard.paddedVocabulary(50257, tensorParallel: 8) == 51200)
        #expect(VocabShard.paddedVocabulary(50304, tensorParallel: 1) == 50304)
        // Chunk c of stage s is virtual stage c·pp + s.
        #expect(ShardLayout.layers(stage: 1, chunk: 1, stages: grid.pipelineParallel, virtualStages: 2, layerCount: 12) == 9..<12)
        #expect(ShardLayout.layers(stage: 0, chunk: 1, stages: grid.pipelineParallel, virtualStages: 2, layerCount: 12) == 6..<9)
    }

    @Test("ParallelGroups made by splitting a world match the grid's lists",
          arguments: [(2, 2, 2), (1, 4, 1), (4, 1, 1), (1, 2, 3)])
    func parallelGroups(tp: Int, pp: Int, dp: Int) throws {
        let grid = try ProcessGrid(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp)
        let results = try InProcessWorld(size: grid.worldSize).run { comm in
            let g = try ParallelGroups(world: comm, grid: grid)
            // A sum over each group checks that its members really communicate.
            let tpSum = try g.tensor.allReduce(Int64(comm.rank), op: .sum)
            return (g.tensor.worldRanks, g.pipeline.worldRanks, g.data.worldRanks, g.modelParallel.worldRanks,
                    g.embedding?.worldRanks, g.data.name, tpSum)
        }
        for (r, (t, p, d, m, e, dataName, tpSum)) in results.enumerated() {
            #expect(t == grid.tensorGroup(containing: r))
            #expect(p == grid.pipelineGroup(containing: r))
            #expect(d == grid.dataGroup(containing: r))
            #expect(m == grid.modelParallelGroup(containing: r))
            #expect(e == grid.embeddingGroup(containing: r))
            #expect(dataName == "dp group of world ranks \(grid.dataGroup(containing: r))")
            #expect(tpSum == Int64(grid.tensorGroup(containing: r).reduce(0, +)))
        }
    }

    @Test("ParallelGroups refuses a world of the wrong size")
    func wrongWorld() throws {
        let grid = try ProcessGrid(tensorParallel: 2, pipelineParallel: 1, dataParallel: 2)
        #expect(throws: CommError.self) {
            try InProcessWorld(size: 2).run { comm in _ = try ParallelGroups(world: comm, grid: grid) }
        }
    }
}
