import MonolithKernels
@testable import MonolithModel
@testable import MonolithParallel
import Testing

/// A Megatron-sharded transformer block against the single-process ``TransformerBlock``: the same
/// output and input gradient on every rank, and local parameter gradients equal to the matching
/// slices of the full gradients, for tp = 1, 2 and 4.
@Suite("Tensor-parallel block")
struct TensorParallelBlockTests {
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
        let acts = Activations(config: config, batch: batch, seqLen: seq, pool: pool)
        let shape = BlockShape(batch: batch, seqLen: seq, channels: c, heads: heads, headDim: c / heads, eps: 1e-5)
        x.withUnsafeBufferPointer { xb in
            TransformerBlock.forward(input: xb.baseAddress!, w: model.blockWeights(0), a: acts.blocks[0], s: shape,
                                     dropout: .none, branch: acts.branch, attnScratch: acts.attnScratch, pool: pool)
        }
        let y = Array(UnsafeBufferPointer(start: acts.blocks[0].res2, count: n * c))
        var dres = dy
        x.withUnsafeBufferPointer { xb in
            dres.withUnsafeMutableBufferPointer { d in
                TransformerBlock.backward(dresidual: d.baseAddress!, input: xb.baseAddress!, w: model.blockWeights(0),
                                          g: model.blockGradients(0), a: acts.blocks[0], s: shape, dropout: .none,
                                          temps: acts, pool: pool)
            }
        }
        return (weights, x, dy, y, dres, model.gradients.toArray())
    }

    @Test("sharded block equals the unsharded one, forward and backward",
          arguments: [(1, true), (2, true), (4, true), (2, false), (4, false)])
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
            let temps = TensorParallelBlockTemporaries(batch: Self.batch, seqLen: Self.seq, channels: c, heads: Self.heads,
                                                       tensorParallel: tp, pool: pool)
            let acts = TensorParallelBlockActivations(batch: Self.batch, seqLen: Self.seq, channels: c, heads: Self.heads,
                                                      tensorParallel: tp, keepProbabilities: keepProbabilities, temps: temps)
            let x = FloatBuffer(count: n * c), dres = FloatBuffer(count: n * c)
            x.base.update(from: ref.x, count: n * c)
            dres.base.update(from: ref.dy, count: n * c)
            try TensorParallelBlock.forward(input: x.base, w: BlockTensors(base: weights.base, offsets: o), a: acts, temps: temps,
                                            channels: c, heads: Self.heads, eps: 1e-5, group: comm, pool: pool)
            let y = Array(UnsafeBufferPointer(start: acts.res2, count: n * c))
            if !keepProbabilities { temps.probs.update(repeating: .nan, count: 1) }  // recompute must not read stale probabilities
            try TensorParallelBlock.backward(dresidual: dres.base, input: x.base, w: BlockTensors(base: weights.base, offsets: o),
                                             g: BlockTensors(base: grads.base, offsets: o), a: acts, temps: temps,
                                             channels: c, heads: Self.heads, group: comm, pool: pool)
            // Only the block's tensors: the embeddings and final LayerNorm are not part of it.
            let blockRange = o.ln1w..<(o.fcProjB + c)
            return (y, dres.toArray(), Array(grads.toArray()[blockRange]), Array(expected.toArray()[blockRange]))
        }
        for r in results {
            expectClose(r.y, ref.y, "tp \(tp) block output", tolerance: 1e-5)
            expectClose(r.dx, ref.dx, "tp \(tp) input gradient", tolerance: 1e-5)
            expectClose(r.grads, r.expected, "tp \(tp) local parameter gradients", tolerance: 1e-5)
        }
    }
}
