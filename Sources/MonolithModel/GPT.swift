import MonolithKernels

/// Errors from running a model on bad input.
public struct ModelInputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A GPT-2 decoder (`GPT2LMHeadModel`) with explicit forward and backward passes.
///
/// Parameters and gradients each live in one ``FloatBuffer`` laid out by ``ParameterLayout``;
/// activations are sized once for the largest batch seen and reused.
///
/// ```swift
/// let model = try GPT(config: .preset("tiny")!)
/// model.initializeWeights(seed: 1337)
/// let loss = try model.forward(ids: ids, targets: targets, batch: 4, seqLen: 64)
/// model.zeroGradients()
/// model.backward()
/// ```
public final class GPT {
    /// Model shape.
    public let config: GPTConfig
    /// Tensor names and offsets shared by ``parameters`` and ``gradients``.
    public let layout: ParameterLayout
    /// All weights.
    public let parameters: FloatBuffer
    /// ∂loss/∂weights, same layout; accumulated by ``backward(lossScale:)``.
    public let gradients: FloatBuffer
    /// The pool kernels run on.
    public let pool: WorkerPool
    /// Whether dropout is applied (training) or not (evaluation).
    public var training = true
    /// Seed of the dropout masks; combined with ``dropoutStep`` so each step draws new masks.
    public var dropoutSeed: UInt64 = 0
    /// Counter that advances the dropout masks; callers bump it once per micro-batch.
    public var dropoutStep = 0

    /// Saved activations, sized by the largest batch run so far.
    public private(set) var activations: Activations?
    private var last: (batch: Int, seqLen: Int, count: Int, ids: [Int32], targets: [Int32])?

    /// Creates a model with zeroed weights; call ``initializeWeights(seed:)`` or load a checkpoint.
    ///
    /// - Parameter bufferCount: length of the flat parameter and gradient buffers when more than
    ///   ``ParameterLayout/count``: ZeRO pads them to equal data-parallel slots so its reduce-scatter
    ///   and all-gather run in place. The padding stays zero and belongs to no tensor.
    /// - Parameter withGradients: false makes an inference-only model whose gradient buffer is
    ///   empty (a model-parallel trainer keeps its gradients in the shards and uses the full model
    ///   only to assemble checkpoints and run evaluation); ``backward(lossScale:gradientsReady:)``
    ///   must not be called on it.
    /// - Parameter withWeights: false makes a shape-only model with no weight storage either: the
    ///   ranks of a model-parallel job that never evaluate hold nothing full-sized.
    public init(config: GPTConfig, pool: WorkerPool = .shared, bufferCount: Int = 0, withGradients: Bool = true,
                withWeights: Bool = true) throws {
        try config.validate()
        self.config = config
        self.pool = pool
        layout = ParameterLayout(config: config)
        parameters = FloatBuffer(count: withWeights ? max(bufferCount, layout.count) : 0)
        gradients = FloatBuffer(count: withWeights && withGradients ? max(bufferCount, layout.count) : 0)
    }

    /// Whether the model has weight storage (see `withWeights`).
    public var hasWeights: Bool { parameters.count >= layout.count }

    /// Number of parameters (the tied `lm_head` counted once).
    public var parameterCount: Int { layout.count }

    /// Pointers to block `l`'s weights and gradients.
    public func blockWeights(_ l: Int) -> BlockTensors { BlockTensors(base: parameters.base, offsets: layout.blocks[l]) }
    public func blockGradients(_ l: Int) -> BlockTensors { BlockTensors(base: gradients.base, offsets: layout.blocks[l]) }

    /// Makes sure activations can hold `batch × seqLen`; reallocates only when growing.
    public func reserve(batch: Int, seqLen: Int) {
        if let a = activations, a.batch >= batch, a.seqLen >= seqLen { return }
        activations = nil
        activations = Activations(config: config, batch: batch, seqLen: seqLen, pool: pool)
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

    /// Runs the model on `ids` (`[B,T]`). Logits land in `activations!.logits` (`[B,T,V]`), or with
    /// `lastPositionOnly` only each sequence's last position, as rows `0..<B` (what generation needs,
    /// skipping a `[B·T, V]` GEMM). With `targets` (`[B,T]`, −1 = ignore), returns the mean
    /// cross-entropy over non-ignored tokens.
    @discardableResult
    public func forward(ids: UnsafePointer<Int32>, targets: UnsafePointer<Int32>? = nil,
                        batch b: Int, seqLen t: Int, lastPositionOnly: Bool = false) throws -> Float? {
        try validateInput(ids: ids, targets: targets, batch: b, seqLen: t)
        reserve(batch: b, seqLen: t)
        let a = activations!
        let c = config.nEmbd, v = config.vocabSize, n = b * t
        let p = parameters.base
        Embedding.forward(output: a.encoded, ids: ids, wte: p + layout.wte, wpe: p + layout.wpe,
                          batch: b, seqLen: t, channels: c, pool: pool)
        embeddingDropout.apply(a.encoded, count: n * c, pool: pool)
        let shape = blockShape(batch: b, seqLen: t)
        var x = UnsafePointer(a.encoded)
        for l in 0..<config.nLayer {
            TransformerBlock.forward(input: x, w: blockWeights(l), a: a.blocks[l], s: shape, dropout: dropoutSites(l),
                                     branch: a.branch, attnScratch: a.attnScratch, pool: pool)
            x = UnsafePointer(a.blocks[l].res2)
        }
        LayerNorm.forward(output: a.lnf, mean: a.lnfMean, rstd: a.lnfRstd, input: x, weight: p + layout.lnfW,
                          bias: p + layout.lnfB, rows: n, channels: c, eps: config.layerNormEpsilon, pool: pool)
        // lm_head is tied to wte: logits = lnf · wteᵀ.
        if lastPositionOnly {
            precondition(targets == nil, "a loss needs the logits of every position")
            gemm(transB: true, m: b, n: v, k: c, a: a.lnf + (t - 1) * c, lda: t * c, b: p + layout.wte, ldb: c,
                 beta: 0, c: a.logits, ldc: v, pool: pool)
            last = nil
            return nil
        }
        gemm(transB: true, m: n, n: v, k: c, a: a.lnf, lda: c, b: p + layout.wte, ldb: c, beta: 0,
             c: a.logits, ldc: v, pool: pool)
        last = (b, t, 0, Array(UnsafeBufferPointer(start: ids, count: n)),
                targets.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? [])
        guard let targets else { return nil }
        let (sum, count) = CrossEntropy.forward(losses: a.losses, logSumExp: a.logSumExp, logits: a.logits,
                                                targets: targets, rows: n, vocab: v, stride: v, pool: pool)
        last!.count = count
        return count > 0 ? Float(sum / Double(count)) : 0
    }

    /// Accumulates ∂(lossScale · loss)/∂weights into ``gradients`` for the last ``forward`` with
    /// targets. The logits buffer is overwritten with its gradient.
    ///
    /// - Parameter gradientsReady: called as backward finishes each part of the model, with the
    ///   lowest flat offset from which every gradient is now final (the final LayerNorm, then each
    ///   block from the last down). Data parallelism starts its bucket all-reduces here, overlapping
    ///   communication with the rest of backward. The tied `wte` gradient is final only when
    ///   backward returns (it sits at offset 0, so no offset reported covers it early).
    public func backward(lossScale: Float = 1, gradientsReady: ((Int) -> Void)? = nil) {
        guard let a = activations, let last, !last.targets.isEmpty else {
            preconditionFailure("backward() needs a preceding forward(ids:targets:...) with targets")
        }
        let b = last.batch, t = last.seqLen, n = b * t, c = config.nEmbd, v = config.vocabSize
        let p = parameters.base, g = gradients.base
        let scale = last.count > 0 ? lossScale / Float(last.count) : 0
        last.targets.withUnsafeBufferPointer { tg in
            CrossEntropy.backward(logits: a.logits, logSumExp: a.logSumExp, targets: tg.baseAddress!, rows: n,
                                  vocab: v, stride: v, scale: scale, pool: pool)
        }
        // dwte += dlogitsᵀ · lnf ; dlnf = dlogits · wte
        gemm(transA: true, m: v, n: c, k: n, a: a.logits, lda: v, b: a.lnf, ldb: c, beta: 1,
             c: g + layout.wte, ldc: c, pool: pool)
        gemm(m: n, n: c, k: v, a: a.logits, lda: v, b: p + layout.wte, ldb: c, beta: 0, c: a.dln, ldc: c, pool: pool)
        let lastOut = config.nLayer > 0 ? UnsafePointer(a.blocks[config.nLayer - 1].res2) : UnsafePointer(a.encoded)
        a.dresidual.update(repeating: 0, count: n * c)
        LayerNorm.backward(dinput: a.dresidual, dweight: g + layout.lnfW, dbias: g + layout.lnfB, doutput: a.dln,
                           input: lastOut, weight: p + layout.lnfW, mean: a.lnfMean, rstd: a.lnfRstd,
                           rows: n, channels: c, scratch: a.lnScratch, pool: pool)
        gradientsReady?(layout.lnfW)
        let shape = blockShape(batch: b, seqLen: t)
        for l in stride(from: config.nLayer - 1, through: 0, by: -1) {
            let input = l == 0 ? UnsafePointer(a.encoded) : UnsafePointer(a.blocks[l - 1].res2)
            TransformerBlock.backward(dresidual: a.dresidual, input: input, w: blockWeights(l), g: blockGradients(l),
                                      a: a.blocks[l], s: shape, dropout: dropoutSites(l), temps: a, pool: pool)
            gradientsReady?(layout.blocks[l].ln1w)
        }
        embeddingDropout.apply(a.dresidual, count: n * c, pool: pool)
        last.ids.withUnsafeBufferPointer { ids in
            Embedding.backward(dwte: g + layout.wte, dwpe: g + layout.wpe, doutput: a.dresidual,
                               ids: ids.baseAddress!, batch: b, seqLen: t, channels: c)
        }
    }

    /// Rounds every parameter to the nearest bf16 value (kept in fp32 storage), so fp32 kernels and
    /// bf16-weight decoding compute with the same weights.
    public func roundWeightsToBF16() {
        let p = parameters.base
        pool.parallelFor(parameters.count) { r in
            for i in r { p[i] = Float(bitPattern: UInt32(bfloat16Bits(p[i])) << 16) }
        }
    }

    /// Sets all gradients to zero (before the first micro-batch of a step).
    public func zeroGradients() { gradients.zero(pool: pool) }

    func blockShape(batch: Int, seqLen: Int) -> BlockShape {
        BlockShape(batch: batch, seqLen: seqLen, channels: config.nEmbd, heads: config.nHead,
                   headDim: config.headDim, eps: config.layerNormEpsilon)
    }

    private var dropoutP: Float { training ? config.dropout : 0 }

    private var embeddingDropout: Dropout {
        TransformerBlock.DropoutSites.embedding(p: dropoutP, seed: dropoutSeed, step: dropoutStep, layers: config.nLayer)
    }

    private func dropoutSites(_ l: Int) -> TransformerBlock.DropoutSites {
        TransformerBlock.DropoutSites.layer(l, p: dropoutP, seed: dropoutSeed, step: dropoutStep)
    }
}
