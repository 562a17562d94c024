import MonolithKernels
@testable import MonolithModel
@testable import MonolithParallel
import Testing

/// A whole GPT split Megatron-style over tp = 1, 2, 4 threads against the single-process ``GPT``:
/// the same loss and, on every rank, local gradients equal to the slices of the full gradients.
/// A vocabulary of 11 padded to 128·tp makes some shards all padding.
@Suite("Tensor-parallel GPT")
struct TensorParallelGPTTests {
    static let config = GPTConfig(nLayer: 2, nHead: 4, nEmbd: 32, vocabSize: 11, contextLength: 6)
    static let (batch, seq) = (2, 6)

    @Test("sharded model equals GPT: loss and gradients", arguments: [1, 2, 4])
    func shardedModel(tp: Int) throws {
        let pool = WorkerPool(threads: 1)
        let full = try GPT(config: Self.config, pool: pool)
        var g = SplitMix64(seed: 5)
        let weights = randoms(full.layout.count, &g).map { $0 * 0.2 }
        full.parameters.base.update(from: weights, count: weights.count)
        let n = Self.batch * Self.seq
        let ids = (0..<n).map { _ in Int32(g.next() % 11) }
        var targetValues = (0..<n).map { _ in Int32(g.next() % 11) }
        targetValues[3] = -1  // an ignored position
        let targets = targetValues
        let loss = try ids.withUnsafeBufferPointer { i in
            try targets.withUnsafeBufferPointer { t in
                try full.forward(ids: i.baseAddress!, targets: t.baseAddress!, batch: Self.batch, seqLen: Self.seq)!
            }
        }
        full.zeroGradients()
        full.backward(lossScale: 0.5)
        let fullGrads = full.gradients.toArray()
        let results = try InProcessWorld(size: tp).run { comm -> (Float, [Float], [Float]) in
            let pool = WorkerPool(threads: 1)
            let model = try GPT(config: Self.config, pool: pool)
            model.parameters.base.update(from: weights, count: weights.count)
            let shard = TensorParallelGPT(config: Self.config, group: comm, batch: Self.batch, seqLen: Self.seq, pool: pool)
            shard.load(from: model)
            let l = try shard.forward(ids: ids, targets: targets)
            try shard.backward(lossScale: 0.5)
            // Expected: the same slicing applied to the full gradients.
            let c = Self.config.nEmbd, tpBlocks = (0..<Self.config.nLayer).map { _ in
                TensorParallelBlockTensors(channels: c, heads: 4, tensorParallel: comm.size, rank: comm.rank)
            }
            let ewte = FloatBuffer(count: shard.wte.count), ewpe = FloatBuffer(count: shard.wpe.count), elnf = FloatBuffer(count: 2 * c)
            let gradsCopy = FloatBuffer(count: fullGrads.count)
            gradsCopy.base.update(from: fullGrads, count: fullGrads.count)
            shard.slice(gradsCopy.base, layout: model.layout, blocks: tpBlocks, wte: ewte, wpe: ewpe, lnf: elnf)
            let got = shard.blockGradients.flatMap { $0.buffer.toArray() } + shard.dwte.toArray() + shard.dwpe.toArray() + shard.dlnf.toArray()
            let want = tpBlocks.flatMap { $0.buffer.toArray() } + ewte.toArray() + ewpe.toArray() + elnf.toArray()
            return (l, got, want)
        }
        for (l, got, want) in results {
            #expect(abs(l - loss) <= 1e-5 * loss, "tp \(tp) loss \(l) vs \(loss)")
            expectClose(got, want, "tp \(tp) gradients", tolerance: 1e-5)
        }
    }
}
