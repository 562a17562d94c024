import MonolithKernels
import MonolithModel

/// One GPT-2 block's tensors on one tensor-parallel rank (Megatron's split), in one allocation.
///
/// Same Hugging Face tensors, local shapes (`w = C/tp`, heads `H/tp`):
///
/// | tensor | full | local |
/// |---|---|---|
/// | `ln_1`, `ln_2` weight/bias | `[C]` | `[C]` (replicated) |
/// | `attn.c_attn.weight` (column-parallel) | `[C, 3C]` | `[C, 3w]`: this rank's q, k and v heads |
/// | `attn.c_attn.bias` | `[3C]` | `[3w]` |
/// | `attn.c_proj.weight` (row-parallel) | `[C, C]` | `[w, C]` |
/// | `attn.c_proj.bias` | `[C]` | `[C]` (replicated, added after the all-reduce) |
/// | `mlp.c_fc.weight` / bias (column-parallel) | `[C, 4C]` / `[4C]` | `[C, 4w]` / `[4w]` |
/// | `mlp.c_proj.weight` (row-parallel) | `[4C, C]` | `[4w, C]` |
/// | `mlp.c_proj.bias` | `[C]` | `[C]` (replicated) |
///
/// ``slice(_:into:)`` maps full tensors to the local ones (checkpoint loading; tests compare
/// gradients the same way), so a shard never needs its own file format.
public final class TensorParallelBlockTensors {
    /// Residual width, heads of the full block, tensor-parallel size and this rank.
    public let channels: Int, heads: Int, tensorParallel: Int, rank: Int
    /// The local tensors.
    public let buffer: FloatBuffer
    /// Local offsets inside ``buffer``.
    public let offsets: BlockOffsets

    /// Zeroed local tensors of a block of width `channels` with `heads` heads on `rank` of `tp`.
    public init(channels c: Int, heads: Int, tensorParallel tp: Int, rank: Int) {
        precondition(heads % tp == 0 && c % heads == 0, "heads must split evenly over tensor-parallel ranks")
        channels = c; self.heads = heads; tensorParallel = tp; self.rank = rank
        let w = c / tp
        let counts = [c, c, c * 3 * w, 3 * w, w * c, c, c, c, c * 4 * w, 4 * w, 4 * w * c, c]
        offsets = BlockOffsets(packedFrom: 0, counts: counts)
        buffer = FloatBuffer(count: counts.reduce(0, +))
    }

    /// Pointers to the local tensors.
    public var tensors: BlockTensors { BlockTensors(base: buffer.base, offsets: offsets) }

    /// Copies this rank's part of the full block `full` (full shapes) into `local` (local shapes).
    public func slice(_ full: BlockTensors, into local: BlockTensors) {
        let c = channels, w = c / tensorParallel, r = rank
        for (src, dst) in [(full.ln1w, local.ln1w), (full.ln1b, local.ln1b), (full.ln2w, local.ln2w), (full.ln2b, local.ln2b),
                           (full.attnProjB, local.attnProjB), (full.fcProjB, local.fcProjB)] {
            dst.update(from: src, count: c)
        }
        // Column-parallel: per input row, the rank's columns of each of q, k, v (heads r·H/tp ...).
        for i in 0...c {  // row c is the bias
            let src = i < c ? full.qkvw + i * 3 * c : full.qkvb, dst = i < c ? local.qkvw + i * 3 * w : local.qkvb
            for part in 0..<3 { (dst + part * w).update(from: src + part * c + r * w, count: w) }
            let fsrc = i < c ? full.fcW + i * 4 * c : full.fcB, fdst = i < c ? local.fcW + i * 4 * w : local.fcB
            fdst.update(from: fsrc + r * 4 * w, count: 4 * w)
        }
        // Row-parallel: a contiguous block of input rows.
        local.attnProjW.update(from: full.attnProjW + r * w * c, count: w * c)
        local.fcProjW.update(from: full.fcProjW + r * 4 * w * c, count: 4 * w * c)
    }

    /// The inverse of ``slice(_:into:)`` for gradients: adds `local` into this rank's positions of
    /// `full`. Replicated tensors (LayerNorms, row-parallel biases) are added only when
    /// `includeReplicated`, so that summing every rank's contribution counts them once.
    public func add(_ local: BlockTensors, into full: BlockTensors, includeReplicated: Bool) {
        let c = channels, w = c / tensorParallel, r = rank
        func acc(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, _ n: Int) {
            for j in 0..<n { dst[j] += src[j] }
        }
        if includeReplicated {
            for (dst, src) in [(full.ln1w, local.ln1w), (full.ln1b, local.ln1b), (full.ln2w, local.ln2w), (full.ln2b, local.ln2b),
                               (full.attnProjB, local.attnProjB), (full.fcProjB, local.fcProjB)] {
                acc(dst, src, c)
            }
        }
        for i in 0...c {
            let dst = i < c ? full.qkvw + i * 3 * c : full.qkvb, src = i < c ? local.qkvw + i * 3 * w : local.qkvb
            for part in 0..<3 { acc(dst + part * c + r * w, src + part * w, w) }
            let fdst = i < c ? full.fcW + i * 4 * c : full.fcB, fsrc = i < c ? local.fcW + i * 4 * w : local.fcB
            acc(fdst + r * 4 * w, fsrc, 4 * w)
        }
        acc(full.attnProjW + r * w * c, local.attnProjW, w * c)
        acc(full.fcProjW + r * 4 * w * c, local.fcProjW, 4 * w * c)
    }
}

/// Saved activations of a tensor-parallel block (local widths), plus backward temporaries.
public final class TensorParallelBlockActivations {
    /// Tokens and sequence shape this set holds.
    public let batch: Int, seqLen: Int
    let buffer: FloatBuffer
    /// `[n,C]` replicated: LayerNorm outputs and residual stream; `[n,3w]`, `[n,w]`, `[n,4w]` local.
    public let ln1, ln1Mean, ln1Rstd, qkv, probs, atty, res1, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res2: UnsafeMutablePointer<Float>
    /// Backward temporaries.
    public let dln, dqkv, datty, dfch, attnScratch, lnScratch: UnsafeMutablePointer<Float>

    /// Activations for `batch × seqLen` tokens of a block of width `channels` and `heads` heads on
    /// one of `tp` ranks.
    public init(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int, pool: WorkerPool) {
        batch = b; seqLen = t
        let n = b * t, w = c / tp, h = heads / tp
        let sizes = [n * c, n, n, 3 * n * w, b * h * t * t, n * w, n * c, n * c, n, n, 4 * n * w, 4 * n * w, n * c,
                     n * c, 3 * n * w, n * w, 4 * n * w, Attention.scratchCount(seqLen: t, pool: pool),
                     LayerNorm.scratchCount(channels: c, pool: pool)]
        let round = { (x: Int) in (x + 15) / 16 * 16 }
        buffer = FloatBuffer(count: sizes.map(round).reduce(0, +))
        var cursor = buffer.base
        let p = sizes.map { k -> UnsafeMutablePointer<Float> in defer { cursor += round(k) }; return cursor }
        ln1 = p[0]; ln1Mean = p[1]; ln1Rstd = p[2]; qkv = p[3]; probs = p[4]; atty = p[5]; res1 = p[6]; ln2 = p[7]
        ln2Mean = p[8]; ln2Rstd = p[9]; fch = p[10]; fchGelu = p[11]; res2 = p[12]
        dln = p[13]; dqkv = p[14]; datty = p[15]; dfch = p[16]; attnScratch = p[17]; lnScratch = p[18]
    }
}

/// A Megatron tensor-parallel GPT-2 block: the single-process block's kernels at local sizes, with
/// one all-reduce forward (after each row-parallel matmul) and one backward (the LayerNorm output
/// entering each column-parallel matmul) per half-block, through the conjugate pairs.
///
/// Unlike ``TransformerBlock``, the row-parallel GEMM must not accumulate onto a pre-filled
/// `residual + bias`: each rank holds only a partial product, so the partial sums are all-reduced
/// first and the bias and residual are added once afterwards. No dropout (it would need
/// rank-consistent masks in the replicated regions).
public enum TensorParallelBlock {
    /// Runs the block on the replicated `input` (`[B,T,C]`); the replicated output is `a.res2`.
    public static func forward(input: UnsafePointer<Float>, w: BlockTensors, a: TensorParallelBlockActivations,
                               channels c: Int, heads: Int, eps: Float, group: any Communicator,
                               pool: WorkerPool) throws(CommError) {
        let tp = group.size, n = a.batch * a.seqLen, lw = c / tp, h = heads / tp
        LayerNorm.forward(output: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input: input, weight: w.ln1w, bias: w.ln1b,
                          rows: n, channels: c, eps: eps, pool: pool)
        CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: a.ln1, count: n * c), group: group)
        Linear.forward(output: a.qkv, input: a.ln1, weight: w.qkvw, bias: w.qkvb, rows: n, inFeatures: c,
                       outFeatures: 3 * lw, pool: pool)
        Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: a.batch, seqLen: a.seqLen, heads: h,
                          headDim: c / heads, scratch: a.attnScratch, pool: pool)
        try rowParallel(output: a.res1, residual: input, x: a.atty, weight: w.attnProjW, bias: w.attnProjB,
                        rows: n, inFeatures: lw, channels: c, group: group, pool: pool)
        LayerNorm.forward(output: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, input: a.res1, weight: w.ln2w, bias: w.ln2b,
                          rows: n, channels: c, eps: eps, pool: pool)
        CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: a.ln2, count: n * c), group: group)
        Linear.forward(output: a.fch, input: a.ln2, weight: w.fcW, bias: nil, rows: n, inFeatures: c, outFeatures: 4 * lw, pool: pool)
        GELU.forward(output: a.fchGelu, input: a.fch, bias: w.fcB, rows: n, cols: 4 * lw, pool: pool)
        try rowParallel(output: a.res2, residual: a.res1, x: a.fchGelu, weight: w.fcProjW, bias: w.fcProjB,
                        rows: n, inFeatures: 4 * lw, channels: c, group: group, pool: pool)
    }

    /// `output = residual + allReduce(x · W_local) + b`.
    static func rowParallel(output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, x: UnsafePointer<Float>,
                            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                            channels c: Int, group: any Communicator, pool: WorkerPool) throws(CommError) {
        Linear.forward(output: output, input: x, weight: weight, bias: nil, rows: rows, inFeatures: inFeatures,
                       outFeatures: c, pool: pool)
        try ReduceFromTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: output, count: rows * c), group: group)
        Residual.copyAddingBias(output: output, input: output, bias: bias, rows: rows, cols: c, pool: pool)
        Residual.add(output: output, output, residual, count: rows * c, pool: pool)
    }

    /// Given the replicated `dresidual` = ∂L/∂(block output), accumulates the local parameter
    /// gradients into `g` and overwrites `dresidual` with ∂L/∂(block input), replicated.
    public static func backward(dresidual: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, w: BlockTensors,
                                g: BlockTensors, a: TensorParallelBlockActivations, channels c: Int, heads: Int,
                                group: any Communicator, pool: WorkerPool) throws(CommError) {
        let tp = group.size, n = a.batch * a.seqLen, lw = c / tp, h = heads / tp
        // MLP: the row-parallel output's gradient is the replicated dresidual (ReduceFrom's backward
        // is the identity); the partial input gradient of the LayerNorm output is summed (CopyTo's).
        ReduceFromTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: dresidual, count: n * c), group: group)
        Linear.backward(dinput: a.dfch, dweight: g.fcProjW, dbias: g.fcProjB, doutput: dresidual, input: a.fchGelu,
                        weight: w.fcProjW, rows: n, inFeatures: 4 * lw, outFeatures: c, pool: pool)
        GELU.backward(dinput: a.dfch, doutput: a.dfch, input: a.fch, count: n * 4 * lw, pool: pool)
        Linear.backward(dinput: a.dln, dweight: g.fcW, dbias: g.fcB, doutput: a.dfch, input: a.ln2, weight: w.fcW,
                        rows: n, inFeatures: c, outFeatures: 4 * lw, pool: pool)
        try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: a.dln, count: n * c), group: group)
        LayerNorm.backward(dinput: dresidual, dweight: g.ln2w, dbias: g.ln2b, doutput: a.dln, input: a.res1, weight: w.ln2w,
                           mean: a.ln2Mean, rstd: a.ln2Rstd, rows: n, channels: c, scratch: a.lnScratch, pool: pool)
        // Attention.
        Linear.backward(dinput: a.datty, dweight: g.attnProjW, dbias: g.attnProjB, doutput: dresidual, input: a.atty,
                        weight: w.attnProjW, rows: n, inFeatures: lw, outFeatures: c, pool: pool)
        Attention.backward(dqkv: a.dqkv, doutput: a.datty, qkv: a.qkv, probs: a.probs, batch: a.batch, seqLen: a.seqLen,
                           heads: h, headDim: c / heads, scratch: a.attnScratch, pool: pool)
        Linear.backward(dinput: a.dln, dweight: g.qkvw, dbias: g.qkvb, doutput: a.dqkv, input: a.ln1, weight: w.qkvw,
                        rows: n, inFeatures: c, outFeatures: 3 * lw, pool: pool)
        try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: a.dln, count: n * c), group: group)
        LayerNorm.backward(dinput: dresidual, dweight: g.ln1w, dbias: g.ln1b, doutput: a.dln, input: input, weight: w.ln1w,
                           mean: a.ln1Mean, rstd: a.ln1Rstd, rows: n, channels: c, scratch: a.lnScratch, pool: pool)
    }
}
