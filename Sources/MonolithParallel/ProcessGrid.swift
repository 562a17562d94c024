import MonolithModel

/// A parallel layout that cannot work, naming the constraint that fails.
public struct LayoutError: Error, Equatable, CustomStringConvertible {
    /// The rule, e.g. `n_head % tp == 0`.
    public let constraint: String
    /// The values that break it, in words.
    public let detail: String
    /// Creates an error for `constraint`.
    public init(constraint: String, detail: String) { self.constraint = constraint; self.detail = detail }
    public var description: String { "invalid parallel layout: \(constraint) does not hold: \(detail)" }
}

/// The tensor × pipeline × data parallel grid of `tp · pp · dp` ranks, in Megatron's rank order:
/// tensor-parallel rank fastest, then data-parallel, then pipeline stage,
///
///     rank = tp_rank + tp · (dp_rank + dp · pp_rank)
///
/// so the ranks of a tensor-parallel group are adjacent (one machine, fastest links) and pipeline
/// stages are the outermost blocks (the cheapest traffic crosses machines).
///
/// Worked example, 16 ranks with tp = 2, pp = 4, dp = 2 (`ProcessGrid(tensorParallel: 2,
/// pipelineParallel: 4, dataParallel: 2)`):
///
/// | group | members (world ranks) |
/// |---|---|
/// | 8 tensor-parallel | [0, 1] [2, 3] [4, 5] [6, 7] [8, 9] [10, 11] [12, 13] [14, 15] |
/// | 8 data-parallel | [0, 2] [1, 3] [4, 6] [5, 7] [8, 10] [9, 11] [12, 14] [13, 15] |
/// | 4 pipeline | [0, 4, 8, 12] [1, 5, 9, 13] [2, 6, 10, 14] [3, 7, 11, 15] |
/// | 4 embedding (first + last stage) | [0, 12] [1, 13] [2, 14] [3, 15] |
/// | 2 model-parallel (tp × pp) | [0, 1, 4, 5, 8, 9, 12, 13] [2, 3, 6, 7, 10, 11, 14, 15] |
///
/// Rank 6 has coordinates tp 0, dp 1, pp 1: it holds the first half of the heads of the second
/// quarter of the layers, for the second half of each global batch.
///
/// ```swift
/// let grid = try ProcessGrid(tensorParallel: 2, pipelineParallel: 4, dataParallel: 2)
/// grid.coordinates(of: 6)          // tp 0, dp 1, pp 1
/// grid.dataGroup(containing: 6)    // [4, 6]
/// let shape = try grid.validate(model: config, microBatch: 1, globalBatch: 16, virtualStages: 1)
/// ```
public struct ProcessGrid: Sendable, Equatable, CustomStringConvertible {
    /// Ranks that split each layer's matrices (`tp`).
    public let tensorParallel: Int
    /// Pipeline stages (`pp`).
    public let pipelineParallel: Int
    /// Model replicas (`dp`).
    public let dataParallel: Int
    /// `tp · pp · dp`.
    public var worldSize: Int { tensorParallel * pipelineParallel * dataParallel }

    /// A grid with the given degrees; each must be at least 1.
    public init(tensorParallel: Int, pipelineParallel: Int, dataParallel: Int) throws(LayoutError) {
        for (name, v) in [("tp", tensorParallel), ("pp", pipelineParallel), ("dp", dataParallel)] where v < 1 {
            throw LayoutError(constraint: "\(name) ≥ 1", detail: "\(name) is \(v)")
        }
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
    }

    /// A grid for `worldSize` ranks with dp inferred as `worldSize / (tp · pp)`.
    public init(worldSize: Int, tensorParallel: Int, pipelineParallel: Int) throws(LayoutError) {
        let modelParallel = tensorParallel * pipelineParallel
        guard tensorParallel >= 1, pipelineParallel >= 1, worldSize % modelParallel == 0 else {
            throw LayoutError(constraint: "world size % (tp · pp) == 0",
                              detail: "\(worldSize) ranks cannot hold whole replicas of tp \(tensorParallel) × pp \(pipelineParallel)")
        }
        try self.init(tensorParallel: tensorParallel, pipelineParallel: pipelineParallel, dataParallel: worldSize / modelParallel)
    }

    public var description: String { "tp \(tensorParallel) × pp \(pipelineParallel) × dp \(dataParallel)" }

    /// Where a rank sits in the grid.
    public struct Coordinates: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// Rank within the tensor-parallel group.
        public let tp: Int
        /// Rank within the data-parallel group (which replica).
        public let dp: Int
        /// Pipeline stage.
        public let pp: Int
        /// Creates coordinates.
        public init(tp: Int, dp: Int, pp: Int) { self.tp = tp; self.dp = dp; self.pp = pp }
        /// `tp 0 dp 1 pp 1`.
        public var description: String { "tp \(tp) dp \(dp) pp \(pp)" }
    }

    /// The coordinates of world rank `rank`.
    public func coordinates(of rank: Int) -> Coordinates {
        precondition(rank >= 0 && rank < worldSize, "rank \(rank) is outside a grid of \(worldSize)")
        return Coordinates(tp: rank % tensorParallel, dp: (rank / tensorParallel) % dataParallel,
                           pp: rank / (tensorParallel * dataParallel))
    }

    /// The world rank at `c`.
    public func rank(of c: Coordinates) -> Int {
        c.tp + tensorParallel * (c.dp + dataParallel * c.pp)
    }

    /// A log prefix with the rank's coordinates and the grid's sizes: `[tp 0/2 dp 1/2 pp 1/4]`.
    public func logPrefix(rank: Int) -> String {
        let c = coordinates(of: rank)
        return "[tp \(c.tp)/\(tensorParallel) dp \(c.dp)/\(dataParallel) pp \(c.pp)/\(pipelineParallel)]"
    }

    /// The ranks that split the same layers with `rank` (same dp and pp), by tp rank.
    public func tensorGroup(containing rank: Int) -> [Int] {
        let c = coordinates(of: rank)
        return (0..<tensorParallel).map { self.rank(of: Coordinates(tp: $0, dp: c.dp, pp: c.pp)) }
    }

    /// The replicas of `rank`'s shard (same tp and pp), by dp rank.
    public func dataGroup(containing rank: Int) -> [Int] {
        let c = coordinates(of: rank)
        return (0..<dataParallel).map { self.rank(of: Coordinates(tp: c.tp, dp: $0, pp: c.pp)) }
    }

    /// The stages of `rank`'s pipeline (same tp and dp), by stage.
    public func pipelineGroup(containing rank: Int) -> [Int] {
        let c = coordinates(of: rank)
        return (0..<pipelineParallel).map { self.rank(of: Coordinates(tp: c.tp, dp: c.dp, pp: $0)) }
    }

    /// Every rank of `rank`'s model replica (same dp): the group over which a global gradient norm
    /// or a replica's loss is summed.
    public func modelParallelGroup(containing rank: Int) -> [Int] {
        let c = coordinates(of: rank)
        return (0..<pipelineParallel).flatMap { p in
            (0..<tensorParallel).map { self.rank(of: Coordinates(tp: $0, dp: c.dp, pp: p)) }
        }
    }

    /// The first and last stage of `rank`'s pipeline, which both hold the tied token embedding and
    /// all-reduce its gradient; `nil` for middle stages. With one stage it is `[rank]`.
    public func embeddingGroup(containing rank: Int) -> [Int]? {
        let c = coordinates(of: rank)
        guard c.pp == 0 || c.pp == pipelineParallel - 1 else { return nil }
        let stages = pipelineParallel == 1 ? [0] : [0, pipelineParallel - 1]
        return stages.map { self.rank(of: Coordinates(tp: c.tp, dp: c.dp, pp: $0)) }
    }

    /// All tensor-parallel groups, ordered by their first rank.
    public var tensorGroups: [[Int]] { distinct(tensorGroup(containing:)) }
    /// All data-parallel groups.
    public var dataGroups: [[Int]] { distinct(dataGroup(containing:)) }
    /// All pipeline groups.
    public var pipelineGroups: [[Int]] { distinct(pipelineGroup(containing:)) }
    /// All embedding groups.
    public var embeddingGroups: [[Int]] { distinct { self.embeddingGroup(containing: $0) ?? [] }.filter { !$0.isEmpty } }
    /// All model-parallel groups.
    public var modelParallelGroups: [[Int]] { distinct(modelParallelGroup(containing:)) }

    private func distinct(_ group: (Int) -> [Int]) -> [[Int]] {
        var seen = Set<[Int]>(), out: [[Int]] = []
        for r in 0..<worldSize { let g = group(r); if seen.insert(g).inserted { out.append(g) } }
        return out
    }

    /// Fails unless the grid has exactly `worldSize` ranks.
    public func validate(worldSize actual: Int) throws(LayoutError) {
        if actual != worldSize {
            throw LayoutError(constraint: "tp · pp · dp == world size",
                              detail: "\(description) needs \(worldSize) ranks, but the world has \(actual)")
        }
    }

    /// Checks that `model` splits over this grid and returns the per-rank sizes; the error names the
    /// first constraint that fails.
    ///
    /// - Parameters:
    ///   - microBatch: sequences per micro-batch.
    ///   - globalBatch: sequences per optimizer step, over all replicas.
    ///   - virtualStages: model chunks per pipeline stage (interleaved 1F1B when > 1).
    ///   - vocabularyMultiple: the vocabulary is padded to a multiple of `vocabularyMultiple · tp`
    ///     (Megatron's `make_vocab_size_divisible_by`, 128) so every rank's slice is equal and
    ///     GEMM-friendly.
    @discardableResult
    public func validate(model: GPTConfig, microBatch: Int, globalBatch: Int, virtualStages: Int = 1,
                         vocabularyMultiple: Int = 128) throws(LayoutError) -> ShardShape {
        let tp = tensorParallel, pp = pipelineParallel, dp = dataParallel
        for (name, v) in [("micro-batch", microBatch), ("global batch", globalBatch), ("virtual stages", virtualStages),
                          ("vocabulary multiple", vocabularyMultiple), ("n_head", model.nHead), ("n_layer", model.nLayer),
                          ("n_embd", model.nEmbd), ("vocab_size", model.vocabSize)] where v < 1 {
            throw LayoutError(constraint: "\(name) ≥ 1", detail: "\(name) is \(v)")
        }
        if model.nHead % tp != 0 {
            throw LayoutError(constraint: "n_head % tp == 0", detail: "\(model.nHead) heads cannot be split evenly over tp = \(tp)")
        }
        if model.nEmbd % tp != 0 {
            throw LayoutError(constraint: "n_embd % tp == 0", detail: "n_embd \(model.nEmbd) cannot be split evenly over tp = \(tp)")
        }
        if model.kvHeads % tp != 0 {
            throw LayoutError(constraint: "num_key_value_heads % tp == 0",
                              detail: "\(model.kvHeads) key/value heads cannot be split evenly over tp = \(tp)")
        }
        if model.intermediateSize % tp != 0 {
            throw LayoutError(constraint: "MLP width % tp == 0",
                              detail: "the MLP width \(model.intermediateSize) cannot be split evenly over tp = \(tp)")
        }
        if virtualStages > 1 && pp == 1 {
            throw LayoutError(constraint: "virtual stages > 1 needs pp > 1", detail: "virtual stages is \(virtualStages) with pp = 1")
        }
        if model.nLayer % (pp * virtualStages) != 0 {
            throw LayoutError(constraint: "n_layer % (pp · virtual stages) == 0",
                              detail: "\(model.nLayer) layers cannot be split into \(pp) stages × \(virtualStages) chunks")
        }
        if globalBatch % (dp * microBatch) != 0 {
            throw LayoutError(constraint: "global batch % (dp · micro-batch) == 0",
                              detail: "\(globalBatch) sequences cannot be split into dp \(dp) × micro-batches of \(microBatch)")
        }
        let microBatches = globalBatch / (dp * microBatch)
        if virtualStages > 1 && microBatches % pp != 0 {
            throw LayoutError(constraint: "micro-batches % pp == 0 (interleaved 1F1B)",
                              detail: "\(microBatches) micro-batches per replica is not a multiple of pp = \(pp)")
        }
        let padded = VocabShard.paddedVocabulary(model.vocabSize, tensorParallel: tp, multiple: vocabularyMultiple)
        return ShardShape(headsPerRank: model.nHead / tp, widthPerRank: model.nEmbd / tp, mlpWidthPerRank: model.intermediateSize / tp,
                          paddedVocabulary: padded, vocabularyPerRank: padded / tp,
                          layersPerChunk: model.nLayer / (pp * virtualStages), microBatches: microBatches)
    }
}

/// Per-rank sizes of a model on a ``ProcessGrid``, from ``ProcessGrid/validate(model:microBatch:globalBatch:virtualStages:vocabularyMultiple:)``.
public struct ShardShape: Sendable, Equatable {
    /// Attention heads of each tensor-parallel rank.
    public let headsPerRank: Int
    /// Columns of the qkv/out projections per rank (`n_embd / tp`).
    public let widthPerRank: Int
    /// Columns of the first MLP matrix per rank (`4·n_embd / tp`).
    public let mlpWidthPerRank: Int
    /// The padded vocabulary (a multiple of `128 · tp`).
    public let paddedVocabulary: Int
    /// Rows of the token embedding per tensor-parallel rank.
    public let vocabularyPerRank: Int
    /// Transformer blocks per model chunk (per stage without interleaving).
    public let layersPerChunk: Int
    /// Micro-batches per replica per optimizer step (`m`).
    public let microBatches: Int
}
