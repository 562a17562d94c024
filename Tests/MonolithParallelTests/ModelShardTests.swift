import MonolithKernels
@testable import MonolithModel
@testable import MonolithParallel
import Testing

/// A whole GPT split over tensor × pipeline ranks (threads) and run through the pipeline plan,
/// against the single-rank whole model (its fused fast paths: residual GEMMs, plain embedding and
/// cross-entropy) run micro-batch by micro-batch: the same summed loss, and on
/// every rank local gradients equal to ``ShardLayout``'s slice of the full gradients (the tied
/// embedding's two copies summed over the embedding group). A vocabulary of 11 padded to 128·tp
/// makes some vocabulary shards all padding; recompute must not change a bit of the math.
@Suite("Model shard")
struct ModelShardTests {
    static let config = GPTConfig(nLayer: 4, nHead: 4, nEmbd: 32, vocabSize: 11, contextLength: 6)
    static let (batch, seq, microBatches) = (2, 6, 4)

    struct Reference { let weights: [Float], grads: [Float], loss: Float, ids: [[Int32]], targets: [[Int32]] }

    static func reference(dropout: Float = 0) throws -> Reference {
        let pool = WorkerPool(threads: 1)
        var cfg = config
        cfg.dropout = dropout
        let full = ModelShard.whole(config: cfg, batch: batch, seqLen: seq, pool: pool)
        full.dropout = dropout
        full.dropoutSeed = 77
        var g = SplitMix64(seed: 5)
        let weights = randoms(ParameterLayout(config: cfg).count, &g).map { $0 * 0.2 }
        full.load(fullParameters: weights)
        let n = batch * seq
        var ids: [[Int32]] = [], targets: [[Int32]] = [], loss: Float = 0
        let acts = full.makeActivations(chunk: 0)
        for k in 0..<microBatches {
            let i = (0..<n).map { _ in Int32(g.next() % 11) }
            var t = (0..<n).map { _ in Int32(g.next() % 11) }
            t[k] = -1  // an ignored position
            ids.append(i); targets.append(t)
            let r = try full.forward(acts, ids: i, targets: t, input: nil, output: nil, dropoutStep: k)!
            loss += Float(r.sum / Double(r.count))
            try full.backward(acts, ids: i, targets: t, lossScale: 0.25, outputGradient: nil, inputGradient: nil, dropoutStep: k)
        }
        return Reference(weights: weights, grads: full.layout.fullLayout(full.gradients.base), loss: loss, ids: ids, targets: targets)
    }

    @Test("sharded model equals GPT: loss and gradients",
          arguments: [(1, 1, 1, ActivationRecompute.none, false), (2, 1, 1, .none, false), (4, 1, 1, .none, false),
                      (1, 2, 1, .none, false), (1, 2, 2, .none, false), (2, 2, 1, .none, false), (2, 2, 2, .selective, false),
                      (1, 1, 1, .full(every: 1), false), (2, 2, 1, .full(every: 2), false), (1, 4, 1, .selective, false),
                      (2, 1, 1, .none, true), (4, 1, 1, .full(every: 1), true), (2, 2, 2, .selective, true)])
    func shardedModel(tp: Int, pp: Int, v: Int, recompute: ActivationRecompute, sequenceParallel: Bool) throws {
        try check(tp: tp, pp: pp, v: v, recompute: recompute, sequenceParallel: sequenceParallel, dropout: 0)
    }

    /// Dropout masks are functions of the global element index, so shards draw the whole model's.
    @Test("with dropout, the sharded model still equals GPT",
          arguments: [(2, 1, 1, ActivationRecompute.none, false), (1, 2, 2, .none, false), (2, 2, 1, .selective, true),
                      (4, 1, 1, .full(every: 1), true), (1, 1, 1, .selective, false)])
    func shardedModelWithDropout(tp: Int, pp: Int, v: Int, recompute: ActivationRecompute, sequenceParallel: Bool) throws {
        try check(tp: tp, pp: pp, v: v, recompute: recompute, sequenceParallel: sequenceParallel, dropout: 0.2)
    }

    func check(tp: Int, pp: Int, v: Int, recompute: ActivationRecompute, sequenceParallel: Bool, dropout: Float) throws {
        let ref = try Self.reference(dropout: dropout)
        let grid = try ProcessGrid(tensorParallel: tp, pipelineParallel: pp, dataParallel: 1)
        let results = try InProcessWorld(size: tp * pp).run { world -> (Float, [Float], [Float]) in
            let pool = WorkerPool(threads: 1)
            let groups = try ParallelGroups(world: world, grid: grid)
            let c = groups.coordinates
            let layout = ShardLayout(config: Self.config, tensorParallel: tp, tensorRank: c.tp, stages: pp, stage: c.pp, virtualStages: v)
            let shard = ModelShard(layout: layout, tensor: groups.tensor, batch: Self.batch, seqLen: Self.seq, recompute: recompute,
                                   sequenceParallel: sequenceParallel, pool: pool)
            shard.load(fullParameters: ref.weights)
            shard.dropout = dropout
            shard.dropoutSeed = 77
            let plan = try PipelineSchedule(stages: pp, microBatches: Self.microBatches, virtualStages: v, stage: c.pp)
            let stage = PipelineStage(shard: shard, schedule: plan)
            try stage.run(ids: ref.ids, targets: ref.targets, lossScale: 0.25, group: groups.pipeline)
            if sequenceParallel {
                // Each rank saw only its rows: the replicated tensors' gradients are partial.
                for r in layout.replicatedRanges {
                    try groups.tensor.allReduce(UnsafeMutableBufferPointer(start: shard.gradients.base + r.lowerBound, count: r.count), op: .sum)
                }
            }
            if let emb = groups.embedding, let tied = layout.tiedEmbedding {
                try emb.allReduce(UnsafeMutableBufferPointer(start: shard.gradients.base + tied.lowerBound, count: tied.count), op: .sum)
            }
            let loss = try groups.pipeline.allReduce(stage.lossSum, op: .sum)
            let expected = FloatBuffer(count: layout.count)
            layout.slice(ref.grads, into: expected.base)
            return (loss, shard.gradients.toArray(), expected.toArray())
        }
        for (loss, got, want) in results {
            #expect(abs(loss - ref.loss) <= 1e-5 * ref.loss, "tp \(tp) pp \(pp) loss \(loss) vs \(ref.loss)")
            expectClose(got, want, "tp \(tp) pp \(pp) v \(v) \(recompute) sp \(sequenceParallel) gradients", tolerance: 1e-5)
        }
    }

    @Test("a shard initializes its slices exactly as the whole model's", arguments: [(1, 1), (2, 1), (4, 2), (2, 4)])
    func initialization(tp: Int, pp: Int) throws {
        let full = try GPT(config: Self.config, pool: WorkerPool(threads: 1))
        full.initializeWeights(seed: 42)
        let weights = full.parameters.toArray()
        for s in 0..<pp {
            let results = try InProcessWorld(size: tp).run { comm -> Bool in
                let layout = ShardLayout(config: Self.config, tensorParallel: tp, tensorRank: comm.rank, stages: pp, stage: s)
                let shard = ModelShard(layout: layout, tensor: comm, batch: 1, seqLen: 2, pool: WorkerPool(threads: 1))
                shard.initializeWeights(seed: 42)
                let want = FloatBuffer(count: layout.count)
                layout.slice(weights, into: want.base)
                return shard.parameters.toArray() == want.toArray()
            }
            #expect(results.allSatisfy { $0 }, "tp \(tp), pp \(pp) stage \(s)")
        }
    }

    @Test("the canonical spans of a replica's shards assemble every parameter exactly once",
          arguments: [(1, 1, 1), (2, 1, 1), (4, 2, 1), (2, 2, 2), (1, 4, 1)])
    func assembly(tp: Int, pp: Int, v: Int) {
        let full = ParameterLayout(config: Self.config)
        var covered = [Int](repeating: 0, count: full.count)
        var ones = [Float](repeating: 0, count: full.count)
        for s in 0..<pp {
            for r in 0..<tp {
                let layout = ShardLayout(config: Self.config, tensorParallel: tp, tensorRank: r, stages: pp, stage: s, virtualStages: v)
                let local = [Float](repeating: 1, count: layout.count)
                layout.scatter(local, into: &ones)
                for e in layout.entries where e.canonical { for sp in e.spans { for j in sp.full..<(sp.full + sp.count) { covered[j] += 1 } } }
            }
        }
        #expect(covered.allSatisfy { $0 == 1 }, "every element once (tp \(tp) pp \(pp) v \(v))")
        #expect(ones.allSatisfy { $0 == 1 })
    }
}
