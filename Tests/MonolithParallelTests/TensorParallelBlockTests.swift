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

    @Test("sharded block equals the unsharded one, forward and backward", arguments: [1, 2, 4])
    func shardedBlock(tp: Int) throws {
        let ref = try Self.reference()
        let offsets = ParameterLayout(config: Self.config).blocks[0]
        let results = try InProcessWorld(size: tp).run { comm -> (y: [Float], dx: [Float], grads: [Float], expected: [Float]) in
            let pool = WorkerPool(threads: 1)
            let (n, c) = (Self.batch * Self.seq, Self.channels)
            let full = FloatBuffer(count: ref.weights.count), fullGrads = FloatBuffer(count: ref.grads.count)
            full.base.update(from: ref.weights, count: ref.weights.count)
            fullGrads.base.update(from: ref.grads, count: ref.grads.count)
            let weights = TensorParallelBlockTensors(channels: c, heads: Self.heads, tensorParallel: tp, rank: comm.rank)
            weights.slice(BlockTensors(base: full.base, offsets: offsets), into: weights.tensors)
            let grads = TensorParallelBlockTensors(channels: c, heads: Self.heads, tensorParallel: tp, rank: comm.rank)
            let expected = TensorParallelBlockTensors(channels: c, heads: Self.heads, tensorParallel: tp, rank: comm.rank)
            expected.slice(BlockTensors(base: fullGrads.base, offsets: offsets), into: expected.tensors)
            let acts = TensorParallelBlockActivations(batch: Self.batch, seqLen: Self.seq, channels: c, heads: Self.heads,
                                                      tensorParallel: tp, pool: pool)
            let x = FloatBuffer(count: n * c), dres = FloatBuffer(count: n * c)
            x.base.update(from: ref.x, count: n * c)
            dres.base.update(from: ref.dy, count: n * c)
            try TensorParallelBlock.forward(input: x.base, w: weights.tensors, a: acts, channels: c, heads: Self.heads,
                                            eps: 1e-5, group: comm, pool: pool)
            let y = Array(UnsafeBufferPointer(start: acts.res2, count: n * c))
            try TensorParallelBlock.backward(dresidual: dres.base, input: x.base, w: weights.tensors, g: grads.tensors, a: acts,
                                             channels: c, heads: Self.heads, group: comm, pool: pool)
            return (y, dres.toArray(), grads.buffer.toArray(), expected.buffer.toArray())
        }
        for r in results {
            expectClose(r.y, ref.y, "tp \(tp) block output", tolerance: 1e-5)
            expectClose(r.dx, ref.dx, "tp \(tp) input gradient", tolerance: 1e-5)
            expectClose(r.grads, r.expected, "tp \(tp) local parameter gradients", tolerance: 1e-5)
        }
    }
}
