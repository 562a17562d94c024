import MonolithKernels

/// Errors from running a model on bad input.
public struct ModelInputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A decoder-only transformer, GPT-2 (`GPT2LMHeadModel`) or Llama (`LlamaForCausalLM`): its
/// shape, its weights in one flat buffer laid out by ``ParameterLayout``, Hugging Face and GGUF
/// I/O, initialization, and the inference forward pass (logits, loss, the prefill of decoding).
///
/// Training does not run here: a ``ModelShard`` holds the trainable parameters, gradients and the
/// forward/backward of one rank's share (with one rank, the whole model), and both run the one
/// block implementation, ``TransformerLayer``.
///
/// ```swift
/// let model = try GPT(config: .preset("tiny")!)
/// model.initializeWeights(seed: 1337)
/// let loss = try model.forward(ids: ids, targets: targets, batch: 4, seqLen: 64)
/// let logits = model.logits      // [B, T, V]
/// ```
public final class GPT {
    /// Model shape.
    public let config: GPTConfig
    /// Tensor names and offsets in ``parameters``.
    public let layout: ParameterLayout
    /// All weights.
    public let parameters: FloatBuffer
    /// The pool kernels run on.
    public let pool: WorkerPool
    /// Beginning- and end-of-text token ids, when the file the model came from names them
    /// (GGUF metadata); written to `config.json` on save.
    public var specialTokens: (bos: Int?, eos: Int?)?
    /// The block, on a group of one rank (inference never splits the model).
    let layer: TransformerLayer
    /// Working memory of ``forward(ids:targets:batch:seqLen:lastPositionOnly:eachLayer:)``, sized
    /// by the largest batch run so far. Inference keeps nothing for backward, so every block runs
    /// in the same activation set.
    private var workspace: InferenceWorkspace?

    /// Creates a model with zeroed weights; call ``initializeWeights(seed:)`` or load a checkpoint.
    public init(config: GPTConfig, pool: WorkerPool = .shared) throws {
        try config.validate()
        self.config = config
        self.pool = pool
        layout = ParameterLayout(config: config)
        parameters = FloatBuffer(count: layout.count)
        layer = TransformerLayer(config: config, group: SingleRankCommunicator())
    }

    /// Number of parameters (the tied `lm_head` counted once).
    public var parameterCount: Int { layout.count }

    /// Pointers to block `l`'s weights.
    public func blockWeights(_ l: Int) -> BlockTensors { BlockTensors(base: parameters.base, offsets: layout.blocks[l]) }

    /// Logits of the last forward: `[B, T, V]`, or `[B, V]` with `lastPositionOnly`.
    public var logits: UnsafeMutablePointer<Float> {
        guard let workspace else { preconditionFailure("logits are there after a forward pass") }
        return workspace.logits
    }

    /// Checks a batch's shape and token ids before any kernel touches memory.
    func validateInput(ids: UnsafePointer<Int32>, targets: UnsafePointer<Int32>?, batch: Int, seqLen: Int) throws {
        guard batch > 0 else { throw ModelInputError("batch size must be positive, got \(batch)") }
        guard seqLen > 0, seqLen <= config.contextLength else {
            throw ModelInputError("sequence length \(seqLen) must be in 1...\(config.contextLength) (n_positions)")
        }
        let v = Int32(config.vocabSize)
        for i in 0..<batch * seqLen {
            if ids[i] < 0 || ids[i] >= v {
                throw ModelInputError("token id \(ids[i]) at position \(i) is outside the vocabulary 0..<\(v)")
            }
            if let targets, targets[i] >= v || targets[i] < -1 {
                throw ModelInputError("target \(targets[i]) at position \(i) is outside 0..<\(v) (or -1 to ignore)")
            }
        }
    }

    /// Runs the model on `ids` (`[B,T]`), dropout off. Logits land in ``logits`` (`[B,T,V]`), or
    /// with `lastPositionOnly` only each sequence's last position, as rows `0..<B` (what generation
    /// needs, skipping a `[B·T, V]` GEMM). With `targets` (`[B,T]`, −1 = ignore), returns the mean
    /// cross-entropy over non-ignored tokens. `eachLayer(l, a)` sees every block's activations
    /// after its forward (prefill copies the keys and values out of `a.qkv`).
    @discardableResult
    public func forward(ids: UnsafePointer<Int32>, targets: UnsafePointer<Int32>? = nil, batch b: Int, seqLen t: Int,
                        lastPositionOnly: Bool = false, eachLayer: ((Int, LayerActivations) -> Void)? = nil) throws -> Float? {
        try validateInput(ids: ids, targets: targets, batch: b, seqLen: t)
        precondition(!lastPositionOnly || targets == nil, "a loss needs the logits of every position")
        let w = reserve(batch: b, seqLen: t)
        let c = config.nEmbd, v = config.vocabSize, n = b * t, p = parameters.base
        let a = w.layer
        Embedding.forward(output: a.res2, ids: ids, wte: p + layout.wte, wpe: layout.wpe.map { p + $0 }, batch: b, seqLen: t,
                          channels: c, pool: pool)
        for l in 0..<config.nLayer {
            // In place: the block reads its input (res2) only before it overwrites it. `try!`: a
            // single-rank group has no peer to fail.
            try! layer.forward(input: a.res2, w: blockWeights(l), a: a, temps: w.temps, pool: pool)
            eachLayer?(l, a)
        }
        let rows = lastPositionOnly ? b : n
        let lnIn: UnsafePointer<Float>
        if lastPositionOnly {
            for bi in 0..<b { (w.lastRows + bi * c).update(from: a.res2 + (bi * t + t - 1) * c, count: c) }
            lnIn = UnsafePointer(w.lastRows)
        } else {
            lnIn = UnsafePointer(a.res2)
        }
        layer.normalize(output: w.lnf, mean: w.lnfMean, rstd: w.lnfRstd, input: lnIn, weight: p + layout.lnfW,
                        bias: layout.lnfB.map { p + $0 }, rows: rows, pool: pool)
        // logits = lnf · lm_headᵀ (lm_head is wte when tied).
        gemm(transB: true, m: rows, n: v, k: c, a: w.lnf, lda: c, b: p + layout.lmHead, ldb: c, beta: 0, c: w.logits, ldc: v, pool: pool)
        guard let targets else { return nil }
        let (sum, count) = CrossEntropy.forward(losses: w.losses, logSumExp: w.logSumExp, logits: w.logits, targets: targets,
                                                rows: n, vocab: v, stride: v, pool: pool)
        return count > 0 ? Float(sum / Double(count)) : 0
    }

    /// The workspace for `batch × seqLen`; reallocated only when a dimension grows.
    func reserve(batch: Int, seqLen: Int) -> InferenceWorkspace {
        if let w = workspace, w.layer.capacity.batch >= batch, w.layer.capacity.seqLen >= seqLen {
            w.layer.reshape(batch: batch, seqLen: seqLen)
            return w
        }
        let cap = workspace.map { (max($0.layer.capacity.batch, batch), max($0.layer.capacity.seqLen, seqLen)) } ?? (batch, seqLen)
        workspace = nil
        let w = InferenceWorkspace(config: config, batch: cap.0, seqLen: cap.1, pool: pool)
        w.layer.reshape(batch: batch, seqLen: seqLen)
        workspace = w
        return w
    }

    /// Rounds every parameter to the nearest bf16 value (kept in fp32 storage), so fp32 kernels and
    /// bf16-weight decoding compute with the same weights.
    public func roundWeightsToBF16() {
        let p = parameters.base
        pool.parallelFor(parameters.count) { r in
            for i in r { p[i] = Float(bitPattern: UInt32(bfloat16Bits(p[i])) << 16) }
        }
    }
}

/// The inference forward's memory: one block activation set shared by every block, the backward
/// temporaries the block's kernels need as scratch, and the head's buffers.
final class InferenceWorkspace {
    let layer: LayerActivations
    let temps: LayerTemporaries
    let buffer: FloatBuffer
    let lastRows, lnf, lnfMean, lnfRstd, logits, losses, logSumExp: UnsafeMutablePointer<Float>

    init(config: GPTConfig, batch b: Int, seqLen t: Int, pool: WorkerPool) {
        temps = LayerTemporaries(config: config, batch: b, seqLen: t, pool: pool)
        layer = LayerActivations(config: config, batch: b, seqLen: t, temps: temps)
        let n = b * t, c = config.nEmbd
        let sizes = [b * c, n * c, n, n, n * config.vocabSize, n, n]
        buffer = FloatBuffer(count: sizes.map(alignedCount).reduce(0, +))
        let p = buffer.carve(sizes)
        lastRows = p[0]; lnf = p[1]; lnfMean = p[2]; lnfRstd = p[3]; logits = p[4]; losses = p[5]; logSumExp = p[6]
    }
}
