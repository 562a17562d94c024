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
/// ``ShardLayout`` maps the full tensors to the local ones, so a shard never needs its own file
/// format.
public enum TensorParallelBlockTensors {
    /// Element counts of the 12 local tensors, in Hugging Face order, for width `channels` split
    /// over `tensorParallel` ranks (``ShardLayout`` packs them with ``BlockOffsets``).
    public static func counts(channels c: Int, tensorParallel tp: Int) -> [Int] {
        let w = c / tp
        return [c, c, c * 3 * w, 3 * w, w * c, c, c, c, c * 4 * w, 4 * w, 4 * w * c, c]
    }
}

/// Saved activations of a tensor-parallel block (local widths), in one allocation.
///
/// With `keepProbabilities: false` (selective recompute) the `[B, H/tp, T, T]` attention
/// probabilities, the largest saved tensor, are not kept: `probs` then points at the shared
/// scratch of ``TensorParallelBlockTemporaries`` and backward recomputes them from `qkv`.
public final class TensorParallelBlockActivations {
    /// Tokens and sequence shape this set holds.
    public let batch: Int, seqLen: Int
    let buffer: FloatBuffer
    /// `[n,C]` replicated: LayerNorm outputs and residual stream; `[n,3w]`, `[n,w]`, `[n,4w]` local.
    public let ln1, ln1Mean, ln1Rstd, qkv, probs, atty, res1, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res2: UnsafeMutablePointer<Float>
    /// Whether `probs` is this set's own (false: recomputed in backward).
    public let keepsProbabilities: Bool

    /// Floats saved per block for `batch × seqLen` tokens (the probabilities only when kept).
    public static func savedCount(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int,
                                  keepProbabilities: Bool) -> Int {
        sizes(batch: b, seqLen: t, channels: c, heads: heads, tensorParallel: tp, keepProbabilities: keepProbabilities)
            .map(round16).reduce(0, +)
    }

    static func sizes(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int, keepProbabilities: Bool) -> [Int] {
        let n = b * t, w = c / tp, h = heads / tp
        return [n * c, n, n, 3 * n * w, keepProbabilities ? b * h * t * t : 0, n * w, n * c, n * c, n, n, 4 * n * w, 4 * n * w, n * c]
    }

    /// Activations for `batch × seqLen` tokens of a block of width `channels` and `heads` heads on
    /// one of `tp` ranks; `temps` supplies the probabilities when they are not kept.
    public init(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int,
                keepProbabilities: Bool = true, temps: TensorParallelBlockTemporaries) {
        batch = b; seqLen = t; keepsProbabilities = keepProbabilities
        let sizes = Self.sizes(batch: b, seqLen: t, channels: c, heads: heads, tensorParallel: tp, keepProbabilities: keepProbabilities)
        buffer = FloatBuffer(count: sizes.map(round16).reduce(0, +))
        var cursor = buffer.base
        let p = sizes.map { k -> UnsafeMutablePointer<Float> in defer { cursor += round16(k) }; return cursor }
        ln1 = p[0]; ln1Mean = p[1]; ln1Rstd = p[2]; qkv = p[3]; probs = keepProbabilities ? p[4] : temps.probs; atty = p[5]
        res1 = p[6]; ln2 = p[7]; ln2Mean = p[8]; ln2Rstd = p[9]; fch = p[10]; fchGelu = p[11]; res2 = p[12]
    }

    /// Bytes held.
    public var bytes: Int { buffer.count * 4 }
}

/// Backward temporaries of a tensor-parallel block, shared by every block of a shard (only one
/// block runs backward at a time), plus the probability scratch of selective recompute.
public final class TensorParallelBlockTemporaries {
    let buffer: FloatBuffer
    /// `[n,C]`, `[n,3w]`, `[n,w]`, `[n,4w]` gradients, per-thread kernel scratch, and `[B,H/tp,T,T]`.
    public let dln, dqkv, datty, dfch, attnScratch, lnScratch, probs: UnsafeMutablePointer<Float>

    /// Temporaries for `batch × seqLen` tokens.
    public init(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int, pool: WorkerPool) {
        let n = b * t, w = c / tp, h = heads / tp
        let sizes = [n * c, 3 * n * w, n * w, 4 * n * w, Attention.scratchCount(seqLen: t, pool: pool),
                     LayerNorm.scratchCount(channels: c, pool: pool), b * h * t * t]
        buffer = FloatBuffer(count: sizes.map(round16).reduce(0, +))
        var cursor = buffer.base
        let p = sizes.map { k -> UnsafeMutablePointer<Float> in defer { cursor += round16(k) }; return cursor }
        dln = p[0]; dqkv = p[1]; datty = p[2]; dfch = p[3]; attnScratch = p[4]; lnScratch = p[5]; probs = p[6]
    }

    /// Bytes held.
    public var bytes: Int { buffer.count * 4 }
}

/// Rounds a float count up to 16 so every tensor starts 64-byte aligned.
func round16(_ x: Int) -> Int { (x + 15) / 16 * 16 }

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
                               temps: TensorParallelBlockTemporaries, channels c: Int, heads: Int, eps: Float,
                               group: any Communicator, pool: WorkerPool) throws(CommError) {
        let tp = group.size, n = a.batch * a.seqLen, lw = c / tp, h = heads / tp
        LayerNorm.forward(output: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input: input, weight: w.ln1w, bias: w.ln1b,
                          rows: n, channels: c, eps: eps, pool: pool)
        CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: a.ln1, count: n * c), group: group)
        Linear.forward(output: a.qkv, input: a.ln1, weight: w.qkvw, bias: w.qkvb, rows: n, inFeatures: c,
                       outFeatures: 3 * lw, pool: pool)
        Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: a.batch, seqLen: a.seqLen, heads: h,
                          headDim: c / heads, scratch: temps.attnScratch, pool: pool)
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
                                g: BlockTensors, a: TensorParallelBlockActivations, temps t: TensorParallelBlockTemporaries,
                                channels c: Int, heads: Int, group: any Communicator, pool: WorkerPool) throws(CommError) {
        let tp = group.size, n = a.batch * a.seqLen, lw = c / tp, h = heads / tp
        if !a.keepsProbabilities {
            // Selective recompute: the attention core again, from the saved qkv (same bits as the first time).
            Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: a.batch, seqLen: a.seqLen, heads: h,
                              headDim: c / heads, scratch: t.attnScratch, pool: pool)
        }
        // MLP: the row-parallel output's gradient is the replicated dresidual (ReduceFrom's backward
        // is the identity); the partial input gradient of the LayerNorm output is summed (CopyTo's).
        ReduceFromTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: dresidual, count: n * c), group: group)
        Linear.backward(dinput: t.dfch, dweight: g.fcProjW, dbias: g.fcProjB, doutput: dresidual, input: a.fchGelu,
                        weight: w.fcProjW, rows: n, inFeatures: 4 * lw, outFeatures: c, pool: pool)
        GELU.backward(dinput: t.dfch, doutput: t.dfch, input: a.fch, count: n * 4 * lw, pool: pool)
        Linear.backward(dinput: t.dln, dweight: g.fcW, dbias: g.fcB, doutput: t.dfch, input: a.ln2, weight: w.fcW,
                        rows: n, inFeatures: c, outFeatures: 4 * lw, pool: pool)
        try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: t.dln, count: n * c), group: group)
        LayerNorm.backward(dinput: dresidual, dweight: g.ln2w, dbias: g.ln2b, doutput: t.dln, input: a.res1, weight: w.ln2w,
                           mean: a.ln2Mean, rstd: a.ln2Rstd, rows: n, channels: c, scratch: t.lnScratch, pool: pool)
        // Attention.
        Linear.backward(dinput: t.datty, dweight: g.attnProjW, dbias: g.attnProjB, doutput: dresidual, input: a.atty,
                        weight: w.attnProjW, rows: n, inFeatures: lw, outFeatures: c, pool: pool)
        Attention.backward(dqkv: t.dqkv, doutput: t.datty, qkv: a.qkv, probs: a.probs, batch: a.batch, seqLen: a.seqLen,
                           heads: h, headDim: c / heads, scratch: t.attnScratch, pool: pool)
        Linear.backward(dinput: t.dln, dweight: g.qkvw, dbias: g.qkvb, doutput: t.dqkv, input: a.ln1, weight: w.qkvw,
                        rows: n, inFeatures: c, outFeatures: 3 * lw, pool: pool)
        try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: t.dln, count: n * c), group: group)
        LayerNorm.backward(dinput: dresidual, dweight: g.ln1w, dbias: g.ln1b, doutput: t.dln, input: input, weight: w.ln1w,
                           mean: a.ln1Mean, rstd: a.ln1Rstd, rows: n, channels: c, scratch: t.lnScratch, pool: pool)
    }
}
