import MonolithKernels

/// One pre-norm decoder block, `x + attn(norm_1(x))` then `+ mlp(norm_2(·))`, on one
/// tensor-parallel rank: the only implementation of the block, used by every layout and both
/// architectures (``ModelArchitecture``):
///
/// | | GPT-2 | Llama |
/// |---|---|---|
/// | norm | LayerNorm with bias | RMSNorm |
/// | positions | learned (in the embedding) | rotary, applied to q and k after the qkv matmul |
/// | attention | multi-head | grouped-query (`H_kv` key/value heads) |
/// | MLP | `c_proj(gelu(c_fc(x)))` | `down(silu(gate(x)) · up(x))` |
/// | biases | everywhere | none |
///
/// Megatron's split: the `qkv` and `fc` matmuls are column-parallel (this rank's query heads, its
/// key/value heads, and `I/tp` columns of each MLP half), the two projections row-parallel, and the
/// communication regions around them (``CopyToTensorParallelRegion``,
/// ``ReduceFromTensorParallelRegion`` and their sequence-parallel variants) are no-ops on a group
/// of one rank. So one process, tensor parallelism, sequence parallelism, pipeline stages,
/// activation recompute and dropout all run this code; decoding runs
/// ``decode(_:w:packed:cache:slots:positions:scratch:pool:)``, its KV-cache specialisation.
///
/// With one rank the row-parallel matmul accumulates onto a pre-filled `residual + bias` (one
/// pass over `[B,T,C]` fewer); with several, each rank holds only a partial product, so the
/// partial sums are reduced first and the bias and residual added once afterwards.
///
/// With sequence parallelism (Korthikanti et al. 2022) the norm and residual regions work on
/// this rank's `n/tp` rows: each all-reduce becomes a reduce-scatter (leaving the row-parallel
/// matmul) plus an all-gather (entering the column-parallel one), the norm weights and
/// row-parallel biases get partial gradients that the trainer sums over the tensor group. Rows are
/// split over the flattened `B·T`. Dropout masks are pure functions of the global element index
/// (``Dropout``), so every layout draws the single process's masks.
public struct TransformerLayer {
    /// Residual width, query heads and key/value heads of the full model; norm epsilon.
    public let channels: Int, heads: Int, kvHeads: Int, eps: Float
    /// The MLP's hidden width of the full model (`4C` for GPT-2, `intermediate_size` for Llama).
    public let hidden: Int
    /// Llama's block (RMSNorm, rotary, SwiGLU, no biases) rather than GPT-2's.
    public let llama: Bool
    /// Rotary table (Llama only).
    public let rope: RotaryEmbedding?
    /// The tensor-parallel group (one rank in a single process).
    public let group: any Communicator
    /// Whether the norm/residual regions hold only this rank's rows.
    public let sequenceParallel: Bool
    /// The operand format of every matmul (``Precision``). With bf16/fp16 the matmul outputs that
    /// feed other kernels (`qkv`, `fch`) are rounded to it as autocast's outputs are; norms,
    /// softmax and the residual stream stay fp32.
    public let precision: Precision

    /// A layer of `config`'s shape on `group`.
    public init(config: GPTConfig, group: any Communicator, sequenceParallel: Bool = false, precision: Precision = .fp32) {
        precondition(config.nHead % group.size == 0 && config.kvHeads % group.size == 0,
                     "tp \(group.size) does not divide \(config.nHead) heads and \(config.kvHeads) key/value heads")
        channels = config.nEmbd; heads = config.nHead; kvHeads = config.kvHeads; eps = config.layerNormEpsilon
        hidden = config.intermediateSize; llama = config.isLlama
        rope = llama ? RotaryEmbedding(headDim: config.headDim, positions: config.contextLength, theta: config.ropeTheta) : nil
        self.group = group
        self.sequenceParallel = sequenceParallel && group.size > 1
        self.precision = precision
    }

    var tp: Int { group.size }
    /// Local query width (`C/tp`), heads (`H/tp`) and key/value heads (`H_kv/tp`).
    var width: Int { channels / tp }
    var localHeads: Int { heads / tp }
    var localKVHeads: Int { kvHeads / tp }
    var headDim: Int { channels / heads }
    /// Local columns of the qkv matmul, the MLP hidden width, and the columns of its first matmul.
    var qkvWidth: Int { (localHeads + 2 * localKVHeads) * headDim }
    var localHidden: Int { hidden / tp }
    var fcWidth: Int { llama ? 2 * localHidden : localHidden }
    /// The single-process fast path: no communication at all.
    var alone: Bool { tp == 1 }

    /// Global index of this rank's first residual row.
    func firstRow(_ a: LayerActivations) -> Int { a.sequenceParallel ? group.rank * (a.tokens / tp) : 0 }

    // MARK: Forward

    /// Runs the block on `input` (`[n, C]`, or this rank's `[n/tp, C]` rows with sequence
    /// parallelism); the output is `a.res2`, shaped the same way.
    public func forward(input: UnsafePointer<Float>, w: BlockTensors, a: LayerActivations, temps: LayerTemporaries,
                        dropout: DropoutSites = .none, pool: WorkerPool) throws(CommError) {
        let n = a.tokens, c = channels, lw = width
        try layerNormIntoTensorRegion(output: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input: input, weight: w.ln1w, bias: w.ln1b,
                                      a: a, pool: pool)
        Linear.forward(output: a.qkv, input: a.ln1, weight: w.qkvw, bias: w.qkvb, rows: n, inFeatures: c, outFeatures: qkvWidth,
                       precision: precision, pool: pool)
        precision.round(a.qkv, count: n * qkvWidth, pool: pool)
        rope?.apply(a.qkv, rows: n, seqLen: a.seqLen, queryHeads: localHeads, keyHeads: localKVHeads, pool: pool)
        attentionCore(a, temps: temps, dropout: dropout.attention, pool: pool)
        try rowParallel(output: a.res1, residual: input, x: a.atty, weight: w.attnProjW, bias: w.attnProjB, inFeatures: lw,
                        dropout: dropout.attnResidual, a: a, temps: temps, pool: pool)
        try layerNormIntoTensorRegion(output: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, input: a.res1, weight: w.ln2w, bias: w.ln2b,
                                      a: a, pool: pool)
        Linear.forward(output: a.fch, input: a.ln2, weight: w.fcW, bias: nil, rows: n, inFeatures: c, outFeatures: fcWidth,
                       precision: precision, pool: pool)
        precision.round(a.fch, count: n * fcWidth, pool: pool)
        activation(output: a.fchGelu, input: a.fch, bias: w.fcB, rows: n, pool: pool)
        try rowParallel(output: a.res2, residual: a.res1, x: a.fchGelu, weight: w.fcProjW, bias: w.fcProjB, inFeatures: localHidden,
                        dropout: dropout.mlpResidual, a: a, temps: temps, pool: pool)
    }

    /// The MLP's activation: `gelu(x + b)` (GPT-2, adding the `c_fc` bias in place) or
    /// `silu(gate) · up` (Llama).
    func activation(output: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                    rows: Int, pool: WorkerPool) {
        if llama { SwiGLU.forward(output: output, input: input, rows: rows, hidden: localHidden, pool: pool) }
        else { GELU.forward(output: output, input: input, bias: bias, rows: rows, cols: localHidden, pool: pool) }
    }

    /// The block's norm of `rows` rows: LayerNorm (GPT-2) or RMSNorm (Llama: no mean, no bias).
    public func normalize(output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                   input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
                   pool: WorkerPool) {
        if llama {
            RMSNorm.forward(output: output, rstd: rstd, input: input, weight: weight, rows: rows, channels: channels, eps: eps, pool: pool)
        } else {
            LayerNorm.forward(output: output, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias!, rows: rows,
                              channels: channels, eps: eps, pool: pool)
        }
    }

    /// Backward of ``normalize(output:mean:rstd:input:weight:bias:rows:pool:)``, accumulating into `dinput`.
    func normalizeBackward(dinput: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                           doutput: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, scratch: UnsafeMutablePointer<Float>,
                           pool: WorkerPool) {
        if llama {
            RMSNorm.backward(dinput: dinput, dweight: dweight, doutput: doutput, input: input, weight: weight, rstd: rstd, rows: rows,
                             channels: channels, scratch: scratch, pool: pool)
        } else {
            LayerNorm.backward(dinput: dinput, dweight: dweight, dbias: dbias!, doutput: doutput, input: input, weight: weight,
                               mean: mean, rstd: rstd, rows: rows, channels: channels, scratch: scratch, pool: pool)
        }
    }


    /// Causal attention of this rank's heads; dropout masks indexed by the global head.
    func attentionCore(_ a: LayerActivations, temps: LayerTemporaries, dropout: Dropout, pool: WorkerPool) {
        Attention.forward(output: a.atty, probs: a.probs, qkv: a.qkv, batch: a.batch, seqLen: a.seqLen, heads: localHeads,
                          headDim: headDim, kvHeads: localKVHeads, dropout: dropout, maskHeads: (group.rank * localHeads, heads),
                          scratch: temps.attnScratch, pool: pool)
    }

    /// LayerNorm of the residual rows, then into the tensor-parallel region: CopyTo (identity), or
    /// with sequence parallelism the local rows written in place into the `[n, C]` output and
    /// all-gathered.
    func layerNormIntoTensorRegion(output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                   rstd: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, a: LayerActivations, pool: WorkerPool) throws(CommError) {
        let n = a.tokens, c = channels
        if a.sequenceParallel {
            let rows = n / tp
            normalize(output: output + group.rank * rows * c, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias,
                      rows: rows, pool: pool)
            try group.allGather(inPlace: UnsafeMutableBufferPointer(start: output, count: n * c))
        } else {
            normalize(output: output, mean: mean, rstd: rstd, input: input, weight: weight, bias: bias, rows: n, pool: pool)
            CopyToTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: output, count: n * c), group: group)
        }
    }

    /// `output = residual + dropout(reduce(x · W_local) + b)`: all-reduced (ReduceFrom), or
    /// reduce-scattered to this rank's rows with sequence parallelism.
    func rowParallel(output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, x: UnsafePointer<Float>,
                     weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inFeatures: Int, dropout: Dropout,
                     a: LayerActivations, temps: LayerTemporaries, pool: WorkerPool) throws(CommError) {
        let n = a.tokens, c = channels, rows = a.sequenceParallel ? n / tp : n
        if alone {
            residualBranch(output: output, residual: residual, x: x, weight: weight, bias: bias, rows: n, inFeatures: inFeatures,
                                outFeatures: c, dropout: dropout, branch: temps.full, pool: pool)
            return
        }
        if a.sequenceParallel {
            Linear.forward(output: temps.full, input: x, weight: weight, bias: nil, rows: n, inFeatures: inFeatures,
                           outFeatures: c, precision: precision, pool: pool)
            try ReduceScatterToSequenceParallelRegion.forward(UnsafeBufferPointer(start: temps.full, count: n * c),
                                                              into: UnsafeMutableBufferPointer(start: output, count: rows * c),
                                                              group: group)
        } else {
            Linear.forward(output: output, input: x, weight: weight, bias: nil, rows: n, inFeatures: inFeatures,
                           outFeatures: c, precision: precision, pool: pool)
            try ReduceFromTensorParallelRegion.forward(UnsafeMutableBufferPointer(start: output, count: n * c), group: group)
        }
        if let bias { Residual.copyAddingBias(output: output, input: output, bias: bias, rows: rows, cols: c, pool: pool) }
        dropout.apply(output, count: rows * c, offset: firstRow(a) * c, pool: pool)
        Residual.add(output: output, output, residual, count: rows * c, pool: pool)
    }

    /// `output = residual + dropout(x · W + b)` for a whole (unsplit) product. Without dropout the
    /// residual and bias pre-fill the output and the GEMM accumulates onto it.
    func residualBranch(output: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>,
                               x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inFeatures: Int, outFeatures: Int, dropout: Dropout,
                               branch: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        if dropout.isActive {
            Linear.forward(output: branch, input: x, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures,
                           outFeatures: outFeatures, precision: precision, pool: pool)
            dropout.apply(branch, count: rows * outFeatures, pool: pool)
            Residual.add(output: output, residual, branch, count: rows * outFeatures, pool: pool)
        } else {
            if let bias { Residual.copyAddingBias(output: output, input: residual, bias: bias, rows: rows, cols: outFeatures, pool: pool) }
            else if UnsafePointer(output) != residual { output.update(from: residual, count: rows * outFeatures) }
            Linear.forward(output: output, input: x, weight: weight, bias: nil, rows: rows, inFeatures: inFeatures,
                           outFeatures: outFeatures, accumulate: true, precision: precision, pool: pool)
        }
    }

    // MARK: Backward

    /// Given `dresidual` = ∂L/∂(block output) (whole, or this rank's rows), accumulates the local
    /// parameter gradients into `g` and overwrites `dresidual` with ∂L/∂(block input). A set made
    /// without probabilities (selective recompute) first reruns the attention core from `qkv`.
    public func backward(dresidual: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, w: BlockTensors, g: BlockTensors,
                         a: LayerActivations, temps t: LayerTemporaries, dropout: DropoutSites = .none,
                         pool: WorkerPool) throws(CommError) {
        let n = a.tokens, c = channels, lw = width
        // Selective recompute: the same kernels on the same qkv give the same bits as the first time.
        if !a.keepsProbabilities { attentionCore(a, temps: t, dropout: dropout.attention, pool: pool) }
        // MLP: the row-parallel output's gradient is dresidual (ReduceFrom's backward is the
        // identity; ReduceScatter's gathers the rows); the LayerNorm output's partial gradient is
        // summed (CopyTo's backward) or reduce-scattered to the rows (Gather's).
        let dout = try rowParallelBackward(dresidual, bias: g.fcProjB, dropout: dropout.mlpResidual, a: a, temps: t, pool: pool)
        Linear.backward(dinput: llama ? t.dact : t.dfch, dweight: g.fcProjW, dbias: nil, doutput: dout, input: a.fchGelu,
                        weight: w.fcProjW, rows: n, inFeatures: localHidden, outFeatures: c, precision: precision, pool: pool)
        if llama { SwiGLU.backward(dinput: t.dfch, doutput: t.dact, input: a.fch, rows: n, hidden: localHidden, pool: pool) }
        else { GELU.backward(dinput: t.dfch, doutput: t.dfch, input: a.fch, count: n * localHidden, pool: pool) }
        Linear.backward(dinput: t.dln, dweight: g.fcW, dbias: g.fcB, doutput: t.dfch, input: a.ln2, weight: w.fcW,
                        rows: n, inFeatures: c, outFeatures: fcWidth, precision: precision, pool: pool)
        try layerNormBackwardFromTensorRegion(dresidual: dresidual, dweight: g.ln2w, dbias: g.ln2b, input: a.res1, weight: w.ln2w,
                                              mean: a.ln2Mean, rstd: a.ln2Rstd, a: a, temps: t, pool: pool)
        // Attention.
        let dout2 = try rowParallelBackward(dresidual, bias: g.attnProjB, dropout: dropout.attnResidual, a: a, temps: t, pool: pool)
        Linear.backward(dinput: t.datty, dweight: g.attnProjW, dbias: nil, doutput: dout2, input: a.atty,
                        weight: w.attnProjW, rows: n, inFeatures: lw, outFeatures: c, precision: precision, pool: pool)
        Attention.backward(dqkv: t.dqkv, doutput: t.datty, qkv: a.qkv, probs: a.probs, batch: a.batch, seqLen: a.seqLen,
                           heads: localHeads, headDim: headDim, kvHeads: localKVHeads, dropout: dropout.attention,
                           maskHeads: (group.rank * localHeads, heads), scratch: t.attnScratch, pool: pool)
        // The rotation's backward is the rotation by the negative angle.
        rope?.apply(t.dqkv, rows: n, seqLen: a.seqLen, queryHeads: localHeads, keyHeads: localKVHeads, inverse: true, pool: pool)
        Linear.backward(dinput: t.dln, dweight: g.qkvw, dbias: g.qkvb, doutput: t.dqkv, input: a.ln1, weight: w.qkvw,
                        rows: n, inFeatures: c, outFeatures: qkvWidth, precision: precision, pool: pool)
        try layerNormBackwardFromTensorRegion(dresidual: dresidual, dweight: g.ln1w, dbias: g.ln1b, input: input, weight: w.ln1w,
                                              mean: a.ln1Mean, rstd: a.ln1Rstd, a: a, temps: t, pool: pool)
    }

    /// The bias gradient from this rank's rows of the branch gradient (`dresidual` through the
    /// dropout mask, which leaves the residual path's `dresidual` untouched), and the `[n, C]`
    /// gradient of the row-parallel output: the branch gradient itself, or its rows all-gathered
    /// into `temps.full`.
    func rowParallelBackward(_ dresidual: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?, dropout: Dropout,
                             a: LayerActivations, temps: LayerTemporaries, pool: WorkerPool) throws(CommError) -> UnsafePointer<Float> {
        let n = a.tokens, c = channels, rows = a.sequenceParallel ? n / tp : n
        var branch = dresidual
        if dropout.isActive {
            branch = a.sequenceParallel ? temps.dlnRows : temps.full
            branch.update(from: dresidual, count: rows * c)
            dropout.apply(branch, count: rows * c, offset: firstRow(a) * c, pool: pool)
        }
        if let bias { Residual.accumulateColumnSums(bias, branch, rows: rows, cols: c, pool: pool) }
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
    func layerNormBackwardFromTensorRegion(dresidual: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                           dbias: UnsafeMutablePointer<Float>?, input: UnsafePointer<Float>,
                                           weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                           a: LayerActivations, temps t: LayerTemporaries, pool: WorkerPool) throws(CommError) {
        let n = a.tokens, c = channels
        var rows = n, dln = UnsafePointer(t.dln)
        if a.sequenceParallel {
            rows = n / tp
            try GatherFromSequenceParallelRegion.backward(UnsafeBufferPointer(start: t.dln, count: n * c),
                                                          into: UnsafeMutableBufferPointer(start: t.dlnRows, count: rows * c),
                                                          group: group)
            dln = UnsafePointer(t.dlnRows)
        } else {
            try CopyToTensorParallelRegion.backward(UnsafeMutableBufferPointer(start: t.dln, count: n * c), group: group)
        }
        normalizeBackward(dinput: dresidual, dweight: dweight, dbias: dbias, doutput: dln, input: input, weight: weight,
                          mean: mean, rstd: rstd, rows: rows, scratch: t.lnScratch, pool: pool)
    }
}
