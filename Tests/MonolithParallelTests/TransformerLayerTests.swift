import MonolithKernels
@testable import MonolithModel
@testable import MonolithParallel
import Testing

/// The one block implementation, ``TransformerLayer``, sharded over tp = 2 and 4 in-process ranks
/// against its single-rank fast path (fused residual GEMMs, no communication): the same output and
/// input gradient on every rank, and local parameter gradients equal to the matching slices of the
/// full gradients; with and without kept attention probabilities (selective recompute).
@Suite("Transformer layer in every tensor-parallel layout")
struct TransformerLayerTests {
    static let (batch, seq, channels, heads) = (2, 5, 32, 4)
    static let config = GPTConfig(nLayer: 1, nHead: heads, nEmbd: channels, vocabSize: 11, contextLength: seq)

    /// Full weights (random, biases and LayerNorms included), input, output gradient; and the
    /// single-process output, input gradient and parameter gradients.
    static func reference() throws -> (weights: [Float], x: [Float], dy: [Float], y: [Float], dx: [Float], grads: [Float]) {
        let pool = WorkerPool(threads: 1)
        let model = try GPT(config: config, pool: pool)
        var g = SplitMix64(seed: 11)
        let weights = randoms(model.layout.count, &g).map { $0 * 0.3 }
        model.parameters.base.update(from: weights, count: weights.count)
        let n = batch * seq, c = channels
        let x = randoms(n * c, &g), dy = randoms(n * c, &g)
        let layer = TransformerLayer(config: config, group: SingleRankCommunicator())
        #expect(layer.alone, "one rank takes the fused path")
        let temps = LayerTemporaries(config: config, batch: batch, seqLen: seq, pool: pool)
        let acts = LayerActivations(config: config, batch: batch, seqLen: seq, temps: temps)
        let grads = FloatBuffer(count: model.layout.count)
        try x.withUnsafeBufferPointer { xb in
            try layer.forward(input: xb.baseAddress!, w: model.blockWeights(0), a: acts, temps: temps, pool: pool)
        }
        let y = Array(UnsafeBufferPointer(start: acts.res2, count: n * c))
        var dres = dy
        try x.withUnsafeBufferPointer { xb in
            try dres.withUnsafeMutableBufferPointer { d in
                try layer.backward(dresidual: d.baseAddress!, input: xb.baseAddress!, w: model.blockWeights(0),
                                   g: BlockTensors(base: grads.base, offsets: model.layout.blocks[0]), a: acts, temps: temps, pool: pool)
            }
        }
        return (weights, x, dy, y, dres, grads.toArray())
    }

    @Test("sharded block equals the unsharded one, forward and backward",
          arguments: [(1, false), (2, true), (4, true), (2, false), (4, false)])
    func shardedBlock(tp: Int, keepProbabilities: Bool) throws {
        let ref = try Self.reference()
        let results = try InProcessWorld(size: tp).run { comm -> (y: [Float], dx: [Float], grads: [Float], expected: [Float]) in
            let pool = WorkerPool(threads: 1)
            let (n, c) = (Self.batch * Self.seq, Self.channels)
            let layout = ShardLayout(config: Self.config, tensorParallel: tp, tensorRank: comm.rank, stages: 1, stage: 0)
            let weights = FloatBuffer(count: layout.count), grads = FloatBuffer(count: layout.count)
            let expected = FloatBuffer(count: layout.count)
            layout.slice(ref.weights, into: weights.base)
            layout.slice(ref.grads, into: expected.base)
            let o = layout.blocks[0]!
            let temps = LayerTemporaries(config: Self.config, batch: Self.batch, seqLen: Self.seq, tensorParallel: tp,
                                         probabilityScratch: !keepProbabilities, pool: pool)
            let acts = LayerActivations(config: Self.config, batch: Self.batch, seqLen: Self.seq, tensorParallel: tp,
                                        keepProbabilities: keepProbabilities, temps: temps)
            let layer = TransformerLayer(config: Self.config, group: comm)
            let x = FloatBuffer(count: n * c), dres = FloatBuffer(count: n * c)
            x.base.update(from: ref.x, count: n * c)
            dres.base.update(from: ref.dy, count: n * c)
            try layer.forward(input: x.base, w: BlockTensors(base: weights.base, offsets: o), a: acts, temps: temps, pool: pool)
            let y = Array(UnsafeBufferPointer(start: acts.res2, count: n * c))
            if !keepProbabilities { temps.probs.update(repeating: .nan, count: 1) }  // recompute must not read stale probabilities
            try layer.backward(dresidual: dres.base, input: x.base, w: BlockTensors(base: weights.base, offsets: o),
                               g: BlockTensors(base: grads.base, offsets: o), a: acts, temps: temps, pool: pool)
            // Only the block's tensors: the embeddings and final LayerNorm are not part of it.
            let blockRange = o.ln1w..<(o.fcProjB! + c)
            return (y, dres.toArray(), Array(grads.toArray()[blockRange]), Array(expected.toArray()[blockRange]))
        }
        for r in results {
            expectClose(r.y, ref.y, "tp \(tp) block output", tolerance: 1e-5)
            expectClose(r.dx, ref.dx, "tp \(tp) input gradient", tolerance: 1e-5)
            expectClose(r.grads, r.expected, "tp \(tp) local parameter gradients", tolerance: 1e-5)
        }
    }
}
