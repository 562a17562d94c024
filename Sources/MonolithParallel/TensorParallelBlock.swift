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
///
/// With sequence parallelism the residual stream (`res1`, `res2`) and the LayerNorm statistics hold
/// only this rank's `n/tp` rows; the LayerNorm outputs are kept gathered (`[n, C]`), as the
/// column-parallel weight gradients need them whole.
public final class TensorParallelBlockActivations {
    /// Tokens and sequence shape this set holds.
    public let batch: Int, seqLen: Int
    let buffer: FloatBuffer
    /// `[n,C]` LayerNorm outputs and residual stream (`[n/tp, C]` rows with sequence parallelism);
    /// `[n,3w]`, `[n,w]`, `[n,4w]` local.
    public let ln1, ln1Mean, ln1Rstd, qkv, probs, atty, res1, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res2: UnsafeMutablePointer<Float>
    /// Whether `probs` is this set's own (false: recomputed in backward).
    public let keepsProbabilities: Bool
    /// Whether the LayerNorm/residual regions are split by rows over the tensor group.
    public let sequenceParallel: Bool

    static func sizes(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int, keepProbabilities: Bool,
                      sequenceParallel: Bool) -> [Int] {
        let n = b * t, w = c / tp, h = heads / tp, rows = sequenceParallel ? n / tp : n
        return [n * c, rows, rows, 3 * n * w, keepProbabilities ? b * h * t * t : 0, n * w, rows * c, n * c, rows, rows,
                4 * n * w, 4 * n * w, rows * c]
    }

    /// Activations for `batch × seqLen` tokens of a block of width `channels` and `heads` heads on
    /// one of `tp` ranks; `temps` supplies the probabilities when they are not kept (it must then
    /// have been made with `probabilityScratch`).
    public init(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int,
                keepProbabilities: Bool = true, sequenceParallel: Bool = false, temps: TensorParallelBlockTemporaries) {
        precondition(!sequenceParallel || (b * t) % tp == 0, "sequence parallelism needs B·T divisible by tp")
        batch = b; seqLen = t; keepsProbabilities = keepProbabilities; self.sequenceParallel = sequenceParallel
        let sizes = Self.sizes(batch: b, seqLen: t, channels: c, heads: heads, tensorParallel: tp, keepProbabilities: keepProbabilities,
                               sequenceParallel: sequenceParallel)
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
/// block runs backward at a time), plus the probability scratch of selective recompute and the
/// `[n, C]` buffer where sequence parallelism gathers or reduce-scatters the residual stream.
public final class TensorParallelBlockTemporaries {
    let buffer: FloatBuffer
    /// `[n,C]`, `[n,3w]`, `[n,w]`, `[n,4w]` gradients, per-thread kernel scratch, `[B,H/tp,T,T]`,
    /// `[n,C]` and `[n/tp,C]`.
    public let dln, dqkv, datty, dfch, attnScratch, lnScratch, probs, full, dlnRows: UnsafeMutablePointer<Float>

    /// Temporaries for `batch × seqLen` tokens; the probability scratch only with
    /// `probabilityScratch` (selective recompute).
    public init(batch b: Int, seqLen t: Int, channels c: Int, heads: Int, tensorParallel tp: Int, probabilityScratch: Bool = true,
                pool: WorkerPool) {
        let n = b * t, w = c / tp, h = heads / tp
        let sizes = [n * c, 3 * n * w, n * w, 4 * n * w, Attention.scratchCount(seqLen: t, pool: pool),
                     LayerNorm.scratchCount(channels: c, pool: pool), probabilityScratch ? b * h * t * t : 0, n * c, n * c / tp + 1]
        buffer = FloatBuffer(count: sizes.map(round16).reduce(0, +))
        var cursor = buffer.base
        let p = sizes.map { k -> UnsafeMutablePointer<Float> in defer { cursor += round16(k) }; return cursor }
        dln = p[0]; dqkv = p[1]; datty = p[2]; dfch = p[3]; attnScratch = p[4]; lnScratch = p[5]; probs = p[6]
        full = p[7]; dlnRows = p[8]
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
/// With sequence parallelism (Korthikanti et al. 2022) the LayerNorm and residual regions work on
/// this rank's `n/tp` rows: each all-reduce becomes a reduce-scatter (leaving the row-parallel
/// matmul) plus an all-gather (entering the column-parallel one), the same bytes on the wire, and the
/// LayerNorm weights and row-parallel biases get partial gradients that the trainer sums over the
/// tensor group. Rows are split over the flattened `B·T`, which for row-wise operations is the same
/// as Megatron's split of the sequence dimension.
///
/// Unlike ``TransformerBlock``, the row-parallel GEMM must not accumulate onto a pre-filled
/// `residual + bias`: each rank holds only a partial product, so the partial sums are reduced
/// first and the bias and residual are added once afterwards. Dropout masks are pure functions of
/// the global element index (``Dropout``), so the replicated regions draw the same mask on every
/// tensor rank and the whole computation equals the single-process block's, dropout included.
public enum TensorParallelBlock {
    /// Runs the block on `input` (`[n, C]` replicated, or this rank's `[n/tp, C]` rows with sequence
    /// parallelism); the output is `a.res2`, shaped the same way.
    public static func forward(input: UnsafePointer<Float>, w: BlockTensors, a: TensorParallelBlockActivations,
                               temps: TensorParallelBlockTemporaries, channels c: Int, heads: Int, eps: Float,
                               dropout: TransformerBlock.DropoutSites = .none,
                               group: any Communicator, pool: WorkerPool) throws(CommError) {
        let tp = group.size, n = a.batch * a.seqLen, lw = c / tp, h = heads / tp
        try layerNormIntoTensorRegion(output: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input: input, weight: w.ln1w, bias: w.ln1b,
                                      a: a, channels: c, eps: eps, group: group, pool: pool)
        Linear.forward(output: a.qkv, input: a.ln1, weight: w.qkvw, bias: w.qkvb, rows: n, inFeatures: c,
                       outFeatures: 3 * lw, pool: pool)
        Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: a.batch, seqLen: a.seqLen, heads: h,
                          headDim: c / heads, dropout: dropout.attention, maskHeads: (group.rank * h, heads),
                          scratch: temps.attnScratch, pool: pool)
        try rowParallel(output: a.res1, residual: input, x: a.atty, weight: w.attnProjW, bias: w.attnProjB,
                        inFeatures: lw, dropout: dropout.attnResidual, a: a, temps: temps, channels: c, group: group, pool: pool)
        try layerNormIntoTensorRegion(output: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, input: a.res1, weight: w.ln2w, bias: w.ln2b,
                                      a: a, channels: c, eps: eps, group: group, pool: pool)
        Linear.forward(output: a.fch, input: a.ln2, weight: w.fcW, bias: nil, rows: n, inFeatures: c, outFeatures: 4 * lw, pool: pool)
        GELU.forward(output: a.fchGelu, input: a.fch, bias: w.fcB, rows: n, cols: 4 * lw, pool: pool)
        try rowParallel(output: a.res2, residual: a.res1, x: a.fchGelu, weight: w.fcProjW, bias: w.fcProjB,
                        inFeatures: 4 * lw, dropout: dropout.mlpResidual, a: a, temps: temps, channels: c, group: group, pool: pool)
    }

    /// LayerNorm of the residual rows, then into the tensor-parallel region: CopyTo (identity), or
    /// with sequence parallelism the local rows written in place into the `[n, C]` output and
    /// all-gathered.
    static func layerNormIntoTensorRegion(output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                          rstd: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, a: TensorParallelBlockActivations,
                                          channels c: Int, eps: Float, group: any Communicator, pool: WorkerPool) throws(CommError) {
        let n = a.batch * a.seqLen
        if a.sequenceParallel {
            let rows = n / group.size
            LayerNorm.forward(output: output + group.rank * rows * c, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias,
                              rows: rows, channels: c, eps: eps, pool: pool)
            try group.allGather(inPlace: UnsafeMutableBufferPointer(start: output, count: n * c))
        } else {
            LayerNorm.forward(output: output, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias,
                              rows: n, channels: c, eps: eps, pool: pool)
            CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: output, count: n * c), group: group)
        }
    }

    /// `output = residual + dropout(reduce(x · W_local) + b)`: all-reduced (ReduceFrom), or
    /// reduce-scattered to this rank's rows with sequence parallelism. The dropout mask is indexed by
    /// the global element, so every tensor rank (and the whole model) draws the same one.
    static func rowParallel(output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, x: UnsafePointer<Float>,
                            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, inFeatures: Int, dropout: Dropout,
                            a: TensorParallelBlockActivations, temps: TensorParallelBlockTemporaries,
                            channels c: Int, group: any Communicator, pool: WorkerPool) throws(CommError) {
        let n = a.batch * a.seqLen, rows = a.sequenceParallel ? n / group.size : n
        if a.sequenceParallel {
            Linear.forward(output: temps.full, input: x, weight: weight, bias: nil, rows: n, inFeatures: inFeatures,
                           outFeatures: c, pool: pool)
            try ReduceScatterToSequenceParallelRegion.forward(UnsafeBufferPointer(start: temps.full, count: n * c),
                                                              into: UnsafeMutableBufferPointer(start: output, count: rows * c),
                                                              group: group)
        } else {
            Linear.forward(output: output, input: x, weight: weight, bias: nil, rows: n, inFeatures: inFeatures,
                           outFeatures: c, pool: pool)
            try ReduceFromTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: output, count: n * c), group: group)
        }
        Residual.copyAddingBias(output: output, input: output, bias: bias, rows: rows, cols: c, pool: pool)
        dropout.apply(output, count: rows * c, offset: firstRow(a, group) * c, pool: pool)
        Residual.add(output: output, output, residual, count: rows * c, pool: pool)
    }

    /// Global index of this rank's first residual row.
    static func firstRow(_ a: TensorParallelBlockActivations, _ group: any Communicator) -> Int {
        a.sequenceParallel ? group.rank * (a.batch * a.seqLen / group.size) : 0
    }

    /// Given `dresidual` = ∂L/∂(block output) (replicated, or this rank's rows), accumulates the local
    /// parameter gradients into `g` and overwrites `dresidual` with ∂L/∂(block input).
    public static func backward(dresidual: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, w: BlockTensors,
                                g: BlockTensors, a: TensorParallelBlockActivations, temps t: TensorParallelBlockTemporaries,
                                channels c: Int, heads: Int, dropout: TransformerBlock.DropoutSites = .none,
                                group: any Communicator, pool: WorkerPool) throws(CommError) {
        let tp = group.size, n = a.batch * a.seqLen, lw = c / tp, h = heads / tp
        if !a.keepsProbabilities {
            // Selective recompute: the attention core again, from the saved qkv (same bits as the first time).
            Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: a.batch, seqLen: a.seqLen, heads: h,
                              headDim: c / heads, dropout: dropout.attention, maskHeads: (group.rank * h, heads),
                              scratch: t.attnScratch, pool: pool)
        }
        // MLP: the row-parallel output's gradient is dresidual (ReduceFrom's backward is the
        // identity; ReduceScatter's gathers the rows); the LayerNorm output's partial gradient is
        // summed (CopyTo's backward) or reduce-scattered to the rows (Gather's).
        let dout = try rowParallelBackward(dresidual, bias: g.fcProjB, dropout: dropout.mlpResidual, a: a, temps: t, channels: c,
                                           group: group, pool: pool)
        Linear.backward(dinput: t.dfch, dweight: g.fcProjW, dbias: nil, doutput: dout, input: a.fchGelu,
                        weight: w.fcProjW, rows: n, inFeatures: 4 * lw, outFeatures: c, pool: pool)
        GELU.backward(dinput: t.dfch, doutput: t.dfch, input: a.fch, count: n * 4 * lw, pool: pool)
        Linear.backward(dinput: t.dln, dweight: g.fcW, dbias: g.fcB, doutput: t.dfch, input: a.ln2, weight: w.fcW,
                        rows: n, inFeatures: c, outFeatures: 4 * lw, pool: pool)
        try layerNormBackwardFromTensorRegion(dresidual: dresidual, dweight: g.ln2w, dbias: g.ln2b, input: a.res1, weight: w.ln2w,
                                              mean: a.ln2Mean, rstd: a.ln2Rstd, a: a, temps: t, channels: c, group: group, pool: pool)
        // Attention.
        let dout2 = try rowParallelBackward(dresidual, bias: g.attnProjB, dropout: dropout.attnResidual, a: a, temps: t, channels: c,
                                            group: group, pool: pool)
        Linear.backward(dinput: t.datty, dweight: g.attnProjW, dbias: nil, doutput: dout2, input: a.atty,
                        weight: w.attnProjW, rows: n, inFeatures: lw, outFeatures: c, pool: pool)
        Attention.backward(dqkv: t.dqkv, doutput: t.datty, qkv: a.qkv, probs: a.probs, batch: a.batch, seqLen: a.seqLen,
                           heads: h, headDim: c / heads, dropout: dropout.attention, maskHeads: (group.rank * h, heads),
                           scratch: t.attnScratch, pool: pool)
        Linear.backward(dinput: t.dln, dweight: g.qkvw, dbias: g.qkvb, doutput: t.dqkv, input: a.ln1, weight: w.qkvw,
                        rows: n, inFeatures: c, outFeatures: 3 * lw, pool: pool)
        try layerNormBackwardFromTensorRegion(dresidual: dresidual, dweight: g.ln1w, dbias: g.ln1b, input: input, weight: w.ln1w,
                                              mean: a.ln1Mean, rstd: a.ln1Rstd, a: a, temps: t, channels: c, group: group, pool: pool)
    }

    /// The bias gradient from this rank's rows of the branch gradient (`dresidual` through the
    /// dropout mask, which leaves the residual path's `dresidual` untouched), and the `[n, C]`
    /// gradient of the row-parallel output: the branch gradient itself, or its rows all-gathered
    /// into `temps.full`.
    static func rowParallelBackward(_ dresidual: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, dropout: Dropout,
                                    a: TensorParallelBlockActivations, temps: TensorParallelBlockTemporaries, channels c: Int,
                                    group: any Communicator, pool: WorkerPool) throws(CommError) -> UnsafePointer<Float> {
        let n = a.batch * a.seqLen, rows = a.sequenceParallel ? n / group.size : n
        var branch = dresidual
        if dropout.isActive {
            branch = a.sequenceParallel ? temps.dlnRows : temps.full
            branch.update(from: dresidual, count: rows * c)
            dropout.apply(branch, count: rows * c, offset: firstRow(a, group) * c, pool: pool)
        }
        Residual.accumulateColumnSums(bias, branch, rows: rows, cols: c, pool: pool)
        guard a.sequenceParallel else {
            ReduceFromTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: branch, count: n * c), group: group)
            return UnsafePointer(branch)
        }
        try ReduceScatterToSequenceParallelRegion.backward(UnsafeBufferPointer(start: branch, count: rows * c),
                                                           into: UnsafeMutableBufferPointer(start: temps.full, count: n * c),
                                                           group: group)
        return UnsafePointer(temps.full)
    }

    /// From the partial `[n, C]` gradient of a LayerNorm output in `temps.dln` back into
    /// `dresidual`: summed over the group (CopyTo's backward), or reduce-scattered to this rank's
    /// rows (Gather's), then the LayerNorm backward on those rows.
    static func layerNormBackwardFromTensorRegion(dresidual: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                                  dbias: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                                  weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                                  a: TensorParallelBlockActivations, temps t: TensorParallelBlockTemporaries,
                                                  channels c: Int, group: any Communicator, pool: WorkerPool) throws(CommError) {
        let n = a.batch * a.seqLen
        var rows = n, dln = UnsafePointer(t.dln)
        if a.sequenceParallel {
            rows = n / group.size
            try GatherFromSequenceParallelRegion.backward(UnsafeBufferPointer(start: t.dln, count: n * c),
                                                          into: UnsafeMutableBufferPointer(start: t.dlnRows, count: rows * c),
                                                          group: group)
            dln = UnsafePointer(t.dlnRows)
        } else {
            try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: t.dln, count: n * c), group: group)
        }
        LayerNorm.backward(dinput: dresidual, dweight: dweight, dbias: dbias, doutput: dln, input: input, weight: weight,
                           mean: mean, rstd: rstd, rows: rows, channels: c, scratch: t.lnScratch, pool: pool)
    }
}
