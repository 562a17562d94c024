import MonolithKernels

/// The activations one chunk keeps for one micro-batch between its forward and its backward.
public final class ChunkActivations {
    /// Which chunk of the stage, and its layers.
    public let chunk: Int, layers: Range<Int>
    /// The chunk's input `[B·T, C]` (embedding output on the first virtual stage).
    let encoded: FloatBuffer
    /// Saved tensors of the blocks that keep theirs.
    let blocks: [Int: LayerActivations]
    /// Inputs of blocks whose predecessor is recomputed in full (its output is not kept).
    let savedInputs: [Int: FloatBuffer]
    /// Final LayerNorm, logits and loss (last virtual stage only).
    let head: HeadActivations?
    /// ∂L/∂(residual stream), walked down through the blocks.
    let dresidual: FloatBuffer

    init(shard: ModelShard, chunk: Int) {
        let c = shard.config, n = shard.rows, tp = shard.layout.tensorParallel
        self.chunk = chunk
        layers = shard.layout.chunkLayers[chunk]
        encoded = FloatBuffer(count: n * c.nEmbd)
        dresidual = FloatBuffer(count: n * c.nEmbd)
        var blocks: [Int: LayerActivations] = [:], saved: [Int: FloatBuffer] = [:]
        for l in layers {
            if !shard.recompute.recomputesBlock(l) {
                blocks[l] = LayerActivations(config: c, batch: shard.batch, seqLen: shard.seqLen, tensorParallel: tp,
                                             keepProbabilities: shard.recompute.keepsProbabilities,
                                             sequenceParallel: shard.sequenceParallel, temps: shard.temps)
            }
            if l > layers.lowerBound && shard.recompute.recomputesBlock(l - 1) { saved[l] = FloatBuffer(count: n * c.nEmbd) }
        }
        self.blocks = blocks; savedInputs = saved
        head = shard.layout.isLast(chunk: chunk) ? HeadActivations(shard: shard) : nil
    }

    /// The input of layer `l`, the `index`-th of the chunk.
    func input(of l: Int, index: Int) -> UnsafePointer<Float> {
        if index == 0 { return UnsafePointer(encoded.base) }
        if let s = savedInputs[l] { return UnsafePointer(s.base) }
        return UnsafePointer(blocks[l - 1]!.res2)
    }

    /// Bytes held by this set.
    public var bytes: Int {
        (encoded.count + dresidual.count) * 4 + blocks.values.map(\.bytes).reduce(0, +)
            + savedInputs.values.map { $0.count * 4 }.reduce(0, +) + (head?.bytes ?? 0)
    }
}

/// Final norm, the vocab-parallel `lm_head` (tied or not) and the loss of one micro-batch.
final class HeadActivations {
    let buffer: FloatBuffer
    let input, lnf, mean, rstd, logits, losses, lse, dln: UnsafeMutablePointer<Float>
    var count = 0

    init(shard: ModelShard) {
        let n = shard.batch * shard.seqLen, rows = shard.rows, c = shard.config.nEmbd, v = shard.layout.vocab.count
        let sizes = [rows * c, n * c, rows, rows, n * v, n, n, n * c]
        buffer = FloatBuffer(count: sizes.map(alignedCount).reduce(0, +))
        let p = buffer.carve(sizes)
        input = p[0]; lnf = p[1]; mean = p[2]; rstd = p[3]; logits = p[4]; losses = p[5]; lse = p[6]; dln = p[7]
    }

    var bytes: Int { buffer.count * 4 }

    func forward(_ x: UnsafePointer<Float>, shard s: ModelShard, targets: [Int32]) throws(CommError) -> (sum: Double, count: Int) {
        let n = s.batch * s.seqLen, c = s.config.nEmbd, vs = s.layout.vocab.count, p = s.parameters.base, L = s.layout
        // Kept: the last block's output may live in the recompute scratch.
        input.update(from: x, count: s.rows * c)
        s.layer.normalize(output: lnf + s.firstRow * c, mean: mean, rstd: rstd, input: input, weight: p + L.lnf!,
                          bias: L.lnfBias.map { p + $0 }, rows: s.rows, pool: s.pool)
        if s.sequenceParallel {
            // GatherFromSequenceParallelRegion in place: the rows were written at this rank's block.
            try s.tensor.allGather(inPlace: UnsafeMutableBufferPointer(start: lnf, count: n * c))
        } else {
            CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: lnf, count: n * c), group: s.tensor)
        }
        gemm(precision: s.layer.precision, transB: true, m: n, n: vs, k: c, a: lnf, lda: c, b: p + L.lmHead!, ldb: c, beta: 0, c: logits, ldc: vs, pool: s.pool)
        let (sum, count) = try targets.withUnsafeBufferPointer { (tg) throws(CommError) in
            try VocabParallelCrossEntropy.forward(losses: losses, logSumExp: lse, logits: logits, targets: tg.baseAddress!,
                                                  rows: n, shard: L.vocab, stride: vs, group: s.tensor, pool: s.pool)
        }
        self.count = count
        return (sum, count)
    }

    func backward(into dres: UnsafeMutablePointer<Float>, shard s: ModelShard, targets: [Int32], lossScale: Float) throws(CommError) {
        let n = s.batch * s.seqLen, c = s.config.nEmbd, vs = s.layout.vocab.count, L = s.layout
        let p = s.parameters.base, g = s.gradients.base
        let scale = count > 0 ? lossScale / Float(count) : 0
        targets.withUnsafeBufferPointer {
            VocabParallelCrossEntropy.backward(logits: logits, logSumExp: lse, targets: $0.baseAddress!, rows: n,
                                               shard: L.vocab, stride: vs, scale: scale, pool: s.pool)
        }
        gemm(precision: s.layer.precision, transA: true, m: vs, n: c, k: n, a: logits, lda: vs, b: lnf, ldb: c, beta: 1, c: g + L.lmHead!, ldc: c, pool: s.pool)
        gemm(precision: s.layer.precision, m: n, n: c, k: vs, a: logits, lda: vs, b: p + L.lmHead!, ldb: c, beta: 0, c: dln, ldc: c, pool: s.pool)
        var drows = UnsafePointer(dln)
        if s.sequenceParallel {
            try GatherFromSequenceParallelRegion.backward(UnsafeBufferPointer(start: dln, count: n * c),
                                                          into: UnsafeMutableBufferPointer(start: s.temps.dlnRows, count: s.rows * c),
                                                          group: s.tensor)
            drows = UnsafePointer(s.temps.dlnRows)
        } else {
            try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: dln, count: n * c), group: s.tensor)
        }
        dres.update(repeating: 0, count: s.rows * c)
        s.layer.normalizeBackward(dinput: dres, dweight: g + L.lnf!, dbias: L.lnfBias.map { g + $0 }, doutput: drows, input: input,
                                  weight: p + L.lnf!, mean: mean, rstd: rstd, rows: s.rows, scratch: s.temps.lnScratch, pool: s.pool)
    }
}
