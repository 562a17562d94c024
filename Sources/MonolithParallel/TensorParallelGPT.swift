import MonolithKernels
import MonolithModel

/// One tensor-parallel rank's shard of a GPT-2 model (Megatron layout), forward and backward.
///
/// The same computation as ``GPT`` with local sizes: a vocab-parallel token embedding (rows of the
/// padded vocabulary, summed over ranks by ``ReduceFromTensorParallelRegion`` before the position
/// embedding is added once), ``TensorParallelBlock``s, a replicated final LayerNorm, the tied
/// `lm_head` as local logits `[B·T, V/tp]` (the LayerNorm output enters it through
/// ``CopyToTensorParallelRegion``), and ``VocabParallelCrossEntropy``, so the full logits are never
/// gathered. The vocabulary is padded to a multiple of `128 · tp`; padded rows are zero, and a
/// padded column is never a target.
///
/// ```swift
/// let shard = TensorParallelGPT(config: config, group: groups.tensor, batch: 8, seqLen: 256)
/// shard.load(from: fullModel)                       // slice the full HF tensors
/// let loss = try shard.forward(ids: ids, targets: targets)
/// try shard.backward(lossScale: 1)
/// ```
///
/// `monolith train` uses it for the forward and backward passes under `--parallel.tp`; the weights
/// and the optimizer are still replicated over the tensor group (see ``addGradients(into:layout:)``).
public final class TensorParallelGPT {
    /// Full model shape.
    public let config: GPTConfig
    /// The tensor-parallel group.
    public let group: any Communicator
    /// This rank's vocabulary rows.
    public let vocab: VocabShard
    /// Tokens per forward.
    public let batch: Int, seqLen: Int
    let pool: WorkerPool
    /// Local block weights and gradients.
    public let blocks: [TensorParallelBlockTensors], blockGradients: [TensorParallelBlockTensors]
    /// `[V/tp, C]` token embedding rows, `[T_max, C]` positions, final LayerNorm `[2C]` (weight|bias).
    public let wte: FloatBuffer, wpe: FloatBuffer, lnf: FloatBuffer
    /// Their gradients.
    public let dwte: FloatBuffer, dwpe: FloatBuffer, dlnf: FloatBuffer
    let acts: [TensorParallelBlockActivations]
    let encoded, lnfOut, lnfMean, lnfRstd, logits, losses, lse, dresidual, dln, lnScratch: FloatBuffer
    private var ids: [Int32] = [], targets: [Int32] = [], count = 0

    /// A zeroed shard for `batch × seqLen` tokens on `group`'s rank.
    public init(config: GPTConfig, group: any Communicator, batch: Int, seqLen: Int, pool: WorkerPool = .shared) {
        let tp = group.size, c = config.nEmbd, n = batch * seqLen
        self.config = config; self.group = group; self.batch = batch; self.seqLen = seqLen; self.pool = pool
        vocab = VocabShard(vocabulary: config.vocabSize, tensorParallel: tp, rank: group.rank)
        let make = { TensorParallelBlockTensors(channels: c, heads: config.nHead, tensorParallel: tp, rank: group.rank) }
        blocks = (0..<config.nLayer).map { _ in make() }
        blockGradients = (0..<config.nLayer).map { _ in make() }
        wte = FloatBuffer(count: vocab.count * c); dwte = FloatBuffer(count: vocab.count * c)
        wpe = FloatBuffer(count: config.contextLength * c); dwpe = FloatBuffer(count: config.contextLength * c)
        lnf = FloatBuffer(count: 2 * c); dlnf = FloatBuffer(count: 2 * c)
        acts = (0..<config.nLayer).map { _ in
            TensorParallelBlockActivations(batch: batch, seqLen: seqLen, channels: c, heads: config.nHead, tensorParallel: tp, pool: pool)
        }
        encoded = FloatBuffer(count: n * c); lnfOut = FloatBuffer(count: n * c)
        lnfMean = FloatBuffer(count: n); lnfRstd = FloatBuffer(count: n)
        logits = FloatBuffer(count: n * vocab.count); losses = FloatBuffer(count: n); lse = FloatBuffer(count: n)
        dresidual = FloatBuffer(count: n * c); dln = FloatBuffer(count: n * c)
        lnScratch = FloatBuffer(count: LayerNorm.scratchCount(channels: c, pool: pool))
    }

    /// Copies this rank's slices of `full`'s weights (padded vocabulary rows stay zero).
    public func load(from full: GPT) {
        slice(full.parameters.base, layout: full.layout, blocks: blocks, wte: wte, wpe: wpe, lnf: lnf)
    }

    /// This rank's slices of a full flat buffer (weights or gradients) in `layout`, for comparisons
    /// and checkpoint loading.
    public func slice(_ base: UnsafeMutablePointer<Float>, layout: ParameterLayout, blocks: [TensorParallelBlockTensors],
                      wte: FloatBuffer, wpe: FloatBuffer, lnf: FloatBuffer) {
        let c = config.nEmbd
        for (l, b) in blocks.enumerated() { b.slice(BlockTensors(base: base, offsets: layout.blocks[l]), into: b.tensors) }
        wte.zero(pool: pool)
        wte.base.update(from: base + layout.wte + vocab.range.lowerBound * c, count: vocab.realCount * c)
        wpe.base.update(from: base + layout.wpe, count: config.contextLength * c)
        lnf.base.update(from: base + layout.lnfW, count: c)
        (lnf.base + c).update(from: base + layout.lnfB, count: c)
    }

    /// Adds this rank's gradients into their places in a full flat gradient buffer in `layout`
    /// (replicated tensors only from tensor rank 0), so that an all-reduce over the tensor group
    /// yields the full model's gradient.
    public func addGradients(into base: UnsafeMutablePointer<Float>, layout: ParameterLayout) {
        let c = config.nEmbd, first = group.rank == 0
        for (l, b) in blocks.enumerated() {
            b.add(blockGradients[l].tensors, into: BlockTensors(base: base, offsets: layout.blocks[l]), includeReplicated: first)
        }
        let wteDst = base + layout.wte + vocab.range.lowerBound * c
        for j in 0..<(vocab.realCount * c) { wteDst[j] += dwte.base[j] }
        if first {
            for j in 0..<(config.contextLength * c) { base[layout.wpe + j] += dwpe.base[j] }
            for j in 0..<c { base[layout.lnfW + j] += dlnf.base[j]; base[layout.lnfB + j] += dlnf.base[c + j] }
        }
    }

    /// Zeroes every local gradient.
    public func zeroGradients() {
        for g in blockGradients { g.buffer.zero(pool: pool) }
        dwte.zero(pool: pool); dwpe.zero(pool: pool); dlnf.zero(pool: pool)
    }

    /// Runs the shard on `ids`/`targets` (`[batch, seqLen]`, global token ids); returns the mean loss,
    /// identical on every rank.
    public func forward(ids: [Int32], targets: [Int32]) throws(CommError) -> Float {
        let c = config.nEmbd, n = batch * seqLen, t = seqLen
        self.ids = ids; self.targets = targets
        ids.withUnsafeBufferPointer { VocabParallelEmbedding.forward(output: encoded.base, ids: $0.baseAddress!, count: n,
                                                                     weight: wte.base, width: c, shard: vocab, pool: pool) }
        try ReduceFromTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: encoded.base, count: n * c), group: group)
        for r in 0..<n { Residual.add(output: encoded.base + r * c, encoded.base + r * c, wpe.base + (r % t) * c, count: c, pool: .serial) }
        var x = UnsafePointer(encoded.base)
        for l in 0..<config.nLayer {
            try TensorParallelBlock.forward(input: x, w: blocks[l].tensors, a: acts[l], channels: c, heads: config.nHead,
                                            eps: config.layerNormEpsilon, group: group, pool: pool)
            x = UnsafePointer(acts[l].res2)
        }
        LayerNorm.forward(output: lnfOut.base, mean: lnfMean.base, rstd: lnfRstd.base, input: x, weight: lnf.base,
                          bias: lnf.base + c, rows: n, channels: c, eps: config.layerNormEpsilon, pool: pool)
        CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: lnfOut.base, count: n * c), group: group)
        gemm(transB: true, m: n, n: vocab.count, k: c, a: lnfOut.base, lda: c, b: wte.base, ldb: c, beta: 0,
             c: logits.base, ldc: vocab.count, pool: pool)
        let (sum, count) = try targets.withUnsafeBufferPointer { (tg) throws(CommError) in
            try VocabParallelCrossEntropy.forward(losses: losses.base, logSumExp: lse.base, logits: logits.base,
                                                  targets: tg.baseAddress!, rows: n, shard: vocab, stride: vocab.count,
                                                  group: group, pool: pool)
        }
        self.count = count
        return count > 0 ? Float(sum / Double(count)) : 0
    }

    /// Accumulates ∂(lossScale · loss)/∂(local weights) for the last forward.
    public func backward(lossScale: Float = 1) throws(CommError) {
        let c = config.nEmbd, n = batch * seqLen, t = seqLen, vs = vocab.count
        let scale = count > 0 ? lossScale / Float(count) : 0
        targets.withUnsafeBufferPointer {
            VocabParallelCrossEntropy.backward(logits: logits.base, logSumExp: lse.base, targets: $0.baseAddress!, rows: n,
                                               shard: vocab, stride: vs, scale: scale, pool: pool)
        }
        gemm(transA: true, m: vs, n: c, k: n, a: logits.base, lda: vs, b: lnfOut.base, ldb: c, beta: 1, c: dwte.base, ldc: c, pool: pool)
        gemm(m: n, n: c, k: vs, a: logits.base, lda: vs, b: wte.base, ldb: c, beta: 0, c: dln.base, ldc: c, pool: pool)
        try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: dln.base, count: n * c), group: group)
        let lastOut = config.nLayer > 0 ? UnsafePointer(acts[config.nLayer - 1].res2) : UnsafePointer(encoded.base)
        dresidual.base.update(repeating: 0, count: n * c)
        LayerNorm.backward(dinput: dresidual.base, dweight: dlnf.base, dbias: dlnf.base + c, doutput: dln.base, input: lastOut,
                           weight: lnf.base, mean: lnfMean.base, rstd: lnfRstd.base, rows: n, channels: c,
                           scratch: lnScratch.base, pool: pool)
        for l in stride(from: config.nLayer - 1, through: 0, by: -1) {
            let input = l == 0 ? UnsafePointer(encoded.base) : UnsafePointer(acts[l - 1].res2)
            try TensorParallelBlock.backward(dresidual: dresidual.base, input: input, w: blocks[l].tensors,
                                             g: blockGradients[l].tensors, a: acts[l], channels: c, heads: config.nHead,
                                             group: group, pool: pool)
        }
        // The embedding sum's backward (ReduceFrom) is the identity: each rank adds its own rows.
        for r in 0..<n { Residual.add(output: dwpe.base + (r % t) * c, dwpe.base + (r % t) * c, dresidual.base + r * c, count: c, pool: .serial) }
        ids.withUnsafeBufferPointer {
            VocabParallelEmbedding.backward(weightGradient: dwte.base, outputGradient: dresidual.base, ids: $0.baseAddress!,
                                            count: n, width: c, shard: vocab)
        }
    }
}
