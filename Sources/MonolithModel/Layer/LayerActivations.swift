import MonolithKernels

/// What one ``TransformerLayer`` saves between its forward and its backward, for `batch × seqLen`
/// tokens on one tensor-parallel rank (local widths `w = C/tp`, heads `H/tp`), in one allocation.
///
/// - `keepProbabilities: false` (selective recompute): the `[B, H/tp, T, T]` attention
///   probabilities, the largest saved tensor, are not kept; `probs` points at the shared scratch of
///   ``LayerTemporaries`` and backward recomputes them from `qkv`.
/// - `sequenceParallel`: the residual stream (`res1`, `res2`) and the LayerNorm statistics hold
///   only this rank's `n/tp` rows; the LayerNorm outputs stay gathered (`[n, C]`), as the
///   column-parallel weight gradients need them whole.
public final class LayerActivations {
    /// The shape it runs at now (``reshape(batch:seqLen:)``), at most the shape it was made for.
    public private(set) var batch: Int, seqLen: Int
    /// The shape it was made for.
    public let capacity: (batch: Int, seqLen: Int)
    let buffer: FloatBuffer
    /// `[n,C]` norm outputs and residual stream (`[n/tp, C]` rows with sequence parallelism);
    /// local `[n, q+2kv]` qkv, `[n,w]` attention output, `[n, fc]` MLP pre-activation (`[gate | up]`
    /// for Llama) and `[n, I/tp]` activation.
    public let ln1, ln1Mean, ln1Rstd, qkv, probs, atty, res1, ln2, ln2Mean, ln2Rstd, fch, fchGelu, res2: UnsafeMutablePointer<Float>
    /// Whether `probs` is this set's own (false: recomputed in backward).
    public let keepsProbabilities: Bool
    /// Whether the LayerNorm/residual regions are split by rows over the tensor group.
    public let sequenceParallel: Bool

    /// Tokens in the batch (`B·T`).
    public var tokens: Int { batch * seqLen }

    /// Activations for `batch × seqLen` tokens of `config`'s block on one of `tensorParallel` ranks;
    /// `temps` supplies the probabilities when they are not kept (it must then have been made with
    /// `probabilityScratch`).
    public init(config: GPTConfig, batch b: Int, seqLen t: Int, tensorParallel tp: Int = 1, keepProbabilities: Bool = true,
                sequenceParallel: Bool = false, temps: LayerTemporaries) {
        precondition(!sequenceParallel || (b * t) % tp == 0, "sequence parallelism needs B·T divisible by tp")
        batch = b; seqLen = t; capacity = (b, t); keepsProbabilities = keepProbabilities; self.sequenceParallel = sequenceParallel
        let n = b * t, c = config.nEmbd, w = c / tp, h = config.nHead / tp, rows = sequenceParallel ? n / tp : n
        let qkvCols = config.qkvWidth / tp, fcCols = config.fcWidth / tp, hiddenCols = config.intermediateSize / tp
        let sizes = [n * c, rows, rows, n * qkvCols, keepProbabilities ? b * h * t * t : 0, n * w, rows * c, n * c, rows, rows,
                     n * fcCols, n * hiddenCols, rows * c]
        buffer = FloatBuffer(count: sizes.map(alignedCount).reduce(0, +))
        let p = buffer.carve(sizes)
        ln1 = p[0]; ln1Mean = p[1]; ln1Rstd = p[2]; qkv = p[3]; probs = keepProbabilities ? p[4] : temps.probs; atty = p[5]
        res1 = p[6]; ln2 = p[7]; ln2Mean = p[8]; ln2Rstd = p[9]; fch = p[10]; fchGelu = p[11]; res2 = p[12]
    }

    /// Runs smaller batches in the same memory: every tensor of a smaller shape fits in the
    /// space carved for the capacity (inference reuses one set for prompts of any length).
    public func reshape(batch b: Int, seqLen t: Int) {
        precondition(b <= capacity.batch && t <= capacity.seqLen, "\(b)×\(t) does not fit a set made for \(capacity)")
        batch = b; seqLen = t
    }

    /// Bytes held.
    public var bytes: Int { buffer.count * 4 }
}

/// Backward temporaries of ``TransformerLayer``, shared by every layer of a model (only one layer
/// runs backward at a time), plus the probability scratch of selective recompute and the `[n, C]`
/// buffer where a dropout branch is formed or sequence parallelism gathers the residual stream.
public final class LayerTemporaries {
    let buffer: FloatBuffer
    /// `[n,C]`, `[n,q+2kv]`, `[n,w]`, `[n,fc]` gradients, per-thread kernel scratch, `[B,H/tp,T,T]`,
    /// `[n,C]`, `[n/tp,C]`, and (Llama) the `[n, I/tp]` gradient of the SwiGLU output.
    public let dln, dqkv, datty, dfch, attnScratch, lnScratch, probs, full, dlnRows, dact: UnsafeMutablePointer<Float>

    /// Temporaries for `batch × seqLen` tokens; the probability scratch only with
    /// `probabilityScratch` (selective recompute).
    public init(config: GPTConfig, batch b: Int, seqLen t: Int, tensorParallel tp: Int = 1, probabilityScratch: Bool = false,
                pool: WorkerPool) {
        let n = b * t, c = config.nEmbd, w = c / tp, h = config.nHead / tp
        let sizes = [n * c, n * config.qkvWidth / tp, n * w, n * config.fcWidth / tp, Attention.scratchCount(seqLen: t, pool: pool),
                     LayerNorm.scratchCount(channels: c, pool: pool), probabilityScratch ? b * h * t * t : 0, n * c, n * c / tp + 1,
                     config.isLlama ? n * config.intermediateSize / tp : 0]
        buffer = FloatBuffer(count: sizes.map(alignedCount).reduce(0, +))
        let p = buffer.carve(sizes)
        dln = p[0]; dqkv = p[1]; datty = p[2]; dfch = p[3]; attnScratch = p[4]; lnScratch = p[5]; probs = p[6]
        full = p[7]; dlnRows = p[8]; dact = p[9]
    }

    /// Bytes held.
    public var bytes: Int { buffer.count * 4 }
}
