import MonolithKernels
import MonolithModel

/// Incremental decoding with a KV cache: a prompt is processed once (`prefill`), then each new
/// token costs one pass over the weights (`decode`), which is what bounds generation speed.
///
/// ```swift
/// let session = try DecodeSession(model: model, batch: 1)
/// var logits = try session.prefill(prompt)          // [B, V] for the last prompt position
/// logits = try session.decode([nextToken])          // [B, V] for the new position
/// ```
public final class DecodeSession {
    /// The model (its weights are read, never written).
    public let model: GPT
    /// Cached keys and values.
    public let cache: KVCache
    let x, ln, qkv, atty, fch, fchGelu, logits, lnMean, lnRstd, scores: FloatBuffer
    /// bf16 copies of the matrices, when decoding reads bf16 weights.
    let packed: PackedWeights?

    /// bf16 copies of every matrix a decode step reads.
    struct PackedWeights {
        let qkv, attnProj, fc, fcProj: [BF16Matrix]
        let wte: BF16Matrix
    }

    /// A session for `batch` sequences of up to `capacity` positions (default: the context length).
    ///
    /// With `bf16Weights`, decode steps read bf16 copies of the matrices (half the memory traffic);
    /// round the model first (``GPT/roundWeightsToBF16()``) so prefill sees the same weights.
    /// Needs `n_embd` to be a multiple of 32.
    public init(model: GPT, batch: Int = 1, capacity: Int? = nil, bf16Weights: Bool = false) throws {
        self.model = model
        if bf16Weights {
            let c = model.config.nEmbd
            guard BF16Matrix.canPack(cols: c) else {
                throw ModelInputError("bf16 decoding needs n_embd to be a multiple of 32 (it is \(c)); use fp32 weights")
            }
            let blocks = (0..<model.config.nLayer).map { model.blockWeights($0) }
            packed = PackedWeights(
                qkv: blocks.map { BF16Matrix($0.qkvw, rows: c, cols: 3 * c, ld: 3 * c, pool: model.pool) },
                attnProj: blocks.map { BF16Matrix($0.attnProjW, rows: c, cols: c, ld: c, pool: model.pool) },
                fc: blocks.map { BF16Matrix($0.fcW, rows: c, cols: 4 * c, ld: 4 * c, pool: model.pool) },
                fcProj: blocks.map { BF16Matrix($0.fcProjW, rows: 4 * c, cols: c, ld: c, pool: model.pool) },
                wte: BF16Matrix(model.parameters.base + model.layout.wte, rows: model.config.vocabSize, cols: c, ld: c, pool: model.pool))
        } else {
            packed = nil
        }
        let c = model.config.nEmbd
        cache = KVCache(config: model.config, batch: batch, capacity: capacity)
        x = FloatBuffer(count: batch * c); ln = FloatBuffer(count: batch * c); qkv = FloatBuffer(count: batch * 3 * c)
        atty = FloatBuffer(count: batch * c); fch = FloatBuffer(count: batch * 4 * c); fchGelu = FloatBuffer(count: batch * 4 * c)
        logits = FloatBuffer(count: batch * model.config.vocabSize)
        lnMean = FloatBuffer(count: batch); lnRstd = FloatBuffer(count: batch)
        scores = FloatBuffer(count: model.pool.threadCount * cache.capacity)
    }

    /// Runs the prompt (`[B, T]`, row-major) through the model, fills the cache, and returns the
    /// logits of each sequence's last position (`[B, V]`). Resets any previous state.
    public func prefill(_ ids: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let b = cache.batch, t = ids.count / b, c = model.config.nEmbd
        guard ids.count == b * t, t > 0 else { throw ModelInputError("prompt must hold batch × length ids (\(b) × T), got \(ids.count)") }
        guard t <= cache.capacity else {
            throw ModelInputError("prompt of \(t) tokens is longer than the context (\(cache.capacity)); shorten it or use truncation")
        }
        model.training = false
        try ids.withUnsafeBufferPointer { try model.forward(ids: $0.baseAddress!, batch: b, seqLen: t, lastPositionOnly: true) }
        let acts = model.activations!
        for l in 0..<model.config.nLayer {
            let qkvRows = acts.blocks[l].qkv
            for bi in 0..<b {
                for pos in 0..<t {
                    let row = qkvRows + (bi * t + pos) * 3 * c
                    let dst = (bi * cache.capacity + pos) * c
                    (cache.keys(l) + dst).update(from: row + c, count: c)
                    (cache.values(l) + dst).update(from: row + 2 * c, count: c)
                }
            }
        }
        cache.length = t
        logits.base.update(from: acts.logits, count: b * model.config.vocabSize)
        return UnsafeBufferPointer(start: logits.base, count: b * model.config.vocabSize)
    }

    /// Appends one token per sequence and returns the next-token logits (`[B, V]`).
    public func decode(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let cfg = model.config, b = cache.batch, c = cfg.nEmbd, v = cfg.vocabSize, pos = cache.length
        let pool = model.pool
        guard tokens.count == b else { throw ModelInputError("decode needs one token per sequence (\(b)), got \(tokens.count)") }
        guard pos < cache.capacity else { throw ModelInputError("the context is full (\(cache.capacity) tokens)") }
        for tok in tokens where tok < 0 || Int(tok) >= v { throw ModelInputError("token id \(tok) is outside the vocabulary 0..<\(v)") }
        let p = model.parameters.base, layout = model.layout
        for (bi, tok) in tokens.enumerated() {
            Residual.add(output: x.base + bi * c, p + layout.wte + Int(tok) * c, p + layout.wpe + pos * c, count: c, pool: .serial)
        }
        for l in 0..<cfg.nLayer {
            let w = model.blockWeights(l)
            LayerNorm.forward(output: ln.base, mean: lnMean.base, rstd: lnRstd.base, input: x.base, weight: w.ln1w,
                              bias: w.ln1b, rows: b, channels: c, eps: cfg.layerNormEpsilon, pool: pool)
            linear(qkv.base, ln.base, w.qkvw, packed?.qkv[l], bias: w.qkvb, rows: b, k: c, n: 3 * c, accumulate: false)
            for bi in 0..<b {
                let dst = (bi * cache.capacity + pos) * c
                (cache.keys(l) + dst).update(from: qkv.base + bi * 3 * c + c, count: c)
                (cache.values(l) + dst).update(from: qkv.base + bi * 3 * c + 2 * c, count: c)
            }
            attend(layer: l, length: pos + 1)
            Residual.copyAddingBias(output: x.base, input: x.base, bias: w.attnProjB, rows: b, cols: c, pool: pool)
            linear(x.base, atty.base, w.attnProjW, packed?.attnProj[l], bias: nil, rows: b, k: c, n: c, accumulate: true)
            LayerNorm.forward(output: ln.base, mean: lnMean.base, rstd: lnRstd.base, input: x.base, weight: w.ln2w,
                              bias: w.ln2b, rows: b, channels: c, eps: cfg.layerNormEpsilon, pool: pool)
            linear(fch.base, ln.base, w.fcW, packed?.fc[l], bias: nil, rows: b, k: c, n: 4 * c, accumulate: false)
            GELU.forward(output: fchGelu.base, input: fch.base, bias: w.fcB, rows: b, cols: 4 * c, pool: pool)
            Residual.copyAddingBias(output: x.base, input: x.base, bias: w.fcProjB, rows: b, cols: c, pool: pool)
            linear(x.base, fchGelu.base, w.fcProjW, packed?.fcProj[l], bias: nil, rows: b, k: 4 * c, n: c, accumulate: true)
        }
        LayerNorm.forward(output: ln.base, mean: lnMean.base, rstd: lnRstd.base, input: x.base, weight: p + layout.lnfW,
                          bias: p + layout.lnfB, rows: b, channels: c, eps: cfg.layerNormEpsilon, pool: pool)
        if let packed, b <= 4 {
            packed.wte.rowsTimesTransposed(y: logits.base, x: ln.base, rows: b, pool: pool)
        } else if b <= 4 {
            Gemv.rowsTimesMatrixTransposed(y: logits.base, x: ln.base, m: p + layout.wte, rows: b, mRows: v, k: c, pool: pool)
        } else {
            gemm(transB: true, m: b, n: v, k: c, a: ln.base, lda: c, b: p + layout.wte, ldb: c, beta: 0,
                 c: logits.base, ldc: v, pool: pool)
        }
        cache.length = pos + 1
        return UnsafeBufferPointer(start: logits.base, count: b * v)
    }

    /// `out (+)= input · W (+ bias)`, reading the bf16 copy of `W` when there is one.
    func linear(_ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                _ packedW: BF16Matrix?, bias: UnsafePointer<Float>?, rows: Int, k: Int, n: Int, accumulate: Bool) {
        guard let packedW, rows <= 4 else {
            Linear.forward(output: out, input: input, weight: w, bias: bias, rows: rows, inFeatures: k, outFeatures: n,
                           accumulate: accumulate, pool: model.pool)
            return
        }
        if let bias { Residual.copyAddingBias(output: out, input: nil, bias: bias, rows: rows, cols: n, pool: .serial) }
        packedW.rowsTimesMatrix(y: out, x: input, rows: rows, accumulate: accumulate || bias != nil, pool: model.pool)
    }

    /// Single-query attention of the newest position over the cache, one (sequence, head) per task.
    func attend(layer l: Int, length n: Int) {
        let cfg = model.config, b = cache.batch, c = cfg.nEmbd, nh = cfg.nHead, d = cfg.headDim
        let keys = cache.keys(l), values = cache.values(l), cap = cache.capacity
        let q = qkv.base, out = atty.base, scratch = scores.base
        let scale = 1 / Float(d).squareRoot()
        let pool = model.pool
        let tasks = b * nh
        let threads = min(pool.threadCount, tasks)
        pool.run { tid in
            guard tid < threads else { return }
            let s = scratch + tid * cap
            for task in WorkerPool.chunk(tid, of: threads, count: tasks) {
                let bi = task / nh, h = task % nh
                let qh = q + bi * 3 * c + h * d
                let kBase = keys + bi * cap * c + h * d, vBase = values + bi * cap * c + h * d
                for j in 0..<n { s[j] = scale * dot(qh, kBase + j * c, d) }
                Softmax.row(s, count: n)
                let o = out + bi * c + h * d
                o.update(repeating: 0, count: d)
                for j in 0..<n { axpy(s[j], vBase + j * c, o, d) }
            }
        }
    }
}

@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec(), i = 0
    while i + vecWidth <= n { acc = acc.addingProduct(load(a + i), load(b + i)); i += vecWidth }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

@inline(__always)
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let av = Vec(repeating: alpha)
    var i = 0
    while i + vecWidth <= n { store(load(y + i).addingProduct(av, load(x + i)), y + i); i += vecWidth }
    while i < n { y[i] += alpha * x[i]; i += 1 }
}
