import MonolithGGUF
import MonolithKernels

/// Where one decode step reads and writes a layer's keys and values: `[slots, capacity, W]` each
/// (`W = kv_heads · head_dim`), heads interleaved as in the `qkv` rows, so a prompt's rows are
/// copied whole.
public struct LayerKVView {
    /// Keys and values of this layer.
    public let keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>
    /// Positions per slot.
    public let capacity: Int

    /// A view of one layer's cache.
    public init(keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, capacity: Int) {
        self.keys = keys; self.values = values; self.capacity = capacity
    }
}

/// Working rows of a decode step for up to `rows` sequences: `[R,C]` norm output and attention
/// output, `[R, C+2W]` qkv, `[R, fc]` and `[R, I]` MLP, norm statistics, and per-thread scores.
public final class DecodeScratch {
    /// One allocation per vector, unlike the activation sets: these rows are rewritten by the
    /// GEMVs once per 4 weight rows, and vectors carved back to back can sit a multiple of 4 KiB
    /// from the weight rows streamed past them (probably 4K aliasing; measured 5–10% slower decoding).
    let buffers: [FloatBuffer]
    public let ln, qkv, atty, fch, fchGelu, mean, rstd, scores: UnsafeMutablePointer<Float>
    /// Sequences and cache positions it was sized for.
    public let rows: Int, capacity: Int
    /// The inputs of quantized projections, quantized to 8 bits.
    public let quantized = QuantizedActivations()

    /// Scratch for `rows` sequences of `config`'s model, over caches of `capacity`.
    public init(rows: Int, config: GPTConfig, capacity: Int, pool: WorkerPool) {
        self.rows = rows; self.capacity = capacity
        let c = config.nEmbd
        buffers = [rows * c, rows * config.qkvWidth, rows * c, rows * config.fcWidth, rows * config.intermediateSize, rows, rows,
                   pool.threadCount * rows * capacity]
            .map { FloatBuffer(count: $0) }
        let p = buffers.map(\.base)
        ln = p[0]; qkv = p[1]; atty = p[2]; fch = p[3]; fchGelu = p[4]; mean = p[5]; rstd = p[6]; scores = p[7]
    }
}

extension TransformerLayer {
    /// The inference specialisation of ``forward(input:w:a:temps:dropout:pool:)`` for one new token
    /// per sequence: the same kernels, in the same order, on `rows` independent sequences, each at
    /// its own position, attending over its own cache slot instead of a `[T,T]` causal square.
    /// Nothing is saved for backward; a single rank only (no tensor-parallel decoding).
    ///
    /// - Parameters:
    ///   - x: `[R, C]` residual rows, updated in place to the block's output.
    ///   - slots: the cache slot of each row; `positions`: the position each row's token takes.
    ///     The row's key and value are written there, and it attends over `0...position`.
    ///   - weights: what each projection reads (``DecodeBlockWeights/fp32``: `w`'s own tensors). The
    ///     norms and biases always come from `w`.
    ///
    /// The rows may also be consecutive positions of one slot (a prompt chunk): every row's key
    /// and value are written before any row attends, so each sees the ones before it.
    ///   - chunkedAttention: let a prompt chunk (8+ consecutive rows of one slot) attend through
    ///     matrix products, which sum in another order than the row-by-row path; off where a row's
    ///     result must not depend on how rows were grouped (serving).
    public func decode(_ x: UnsafeMutablePointer<Float>, w: BlockTensors, weights: DecodeBlockWeights, cache: LayerKVView,
                       slots: [Int], positions: [Int], scratch s: DecodeScratch, chunkedAttention: Bool = true, pool: WorkerPool) {
        precondition(alone, "decoding runs on a single rank")
        let b = slots.count, c = channels, ld = qkvWidth, kv = localKVHeads * headDim
        normalize(output: s.ln, mean: s.mean, rstd: s.rstd, input: x, weight: w.ln1w, bias: w.ln1b, rows: b, pool: pool)
        weights.qkv.apply(s.qkv, s.ln, w.qkvw, bias: w.qkvb, rows: b, k: c, n: ld, accumulate: false, activations: s.quantized, pool: pool)
        for (i, slot) in slots.enumerated() {
            let row = s.qkv + i * ld
            rope?.rotate(row, heads: heads + kvHeads, position: positions[i])
            let dst = (slot * cache.capacity + positions[i]) * kv
            (cache.keys + dst).update(from: row + c, count: kv)
            (cache.values + dst).update(from: row + c + kv, count: kv)
        }
        attendOverCache(cache, slots: slots, positions: positions, scratch: s, chunked: chunkedAttention, pool: pool)
        if let bias = w.attnProjB { Residual.copyAddingBias(output: x, input: x, bias: bias, rows: b, cols: c, pool: pool) }
        weights.attnProj.apply(x, s.atty, w.attnProjW, bias: nil, rows: b, k: c, n: c, accumulate: true, activations: s.quantized, pool: pool)
        normalize(output: s.ln, mean: s.mean, rstd: s.rstd, input: x, weight: w.ln2w, bias: w.ln2b, rows: b, pool: pool)
        weights.fc.apply(s.fch, s.ln, w.fcW, bias: nil, rows: b, k: c, n: fcWidth, accumulate: false, activations: s.quantized, pool: pool)
        activation(output: s.fchGelu, input: s.fch, bias: w.fcB, rows: b, pool: pool)
        if let bias = w.fcProjB { Residual.copyAddingBias(output: x, input: x, bias: bias, rows: b, cols: c, pool: pool) }
        weights.fcProj.apply(x, s.fchGelu, w.fcProjW, bias: nil, rows: b, k: hidden, n: c, accumulate: true, activations: s.quantized, pool: pool)
    }

    /// Single-query attention of each row's newest position over its slot, one (row, head) per task.
    func attendOverCache(_ cache: LayerKVView, slots: [Int], positions: [Int], scratch s: DecodeScratch, chunked: Bool = true,
                         pool: WorkerPool) {
        if chunked, slots.count >= 8, slots.allSatisfy({ $0 == slots[0] }), positions.indices.allSatisfy({ positions[$0] == positions[0] + $0 }) {
            attendChunk(cache, slot: slots[0], first: positions[0], rows: slots.count, scratch: s, pool: pool)
            return
        }
        let c = channels, nh = heads, d = headDim, cap = cache.capacity, ld = qkvWidth, kv = kvHeads * d, group = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        let tasks = slots.count * nh
        let threads = min(pool.threadCount, tasks)
        slots.withUnsafeBufferPointer { slots in
            positions.withUnsafeBufferPointer { positions in
                pool.run { tid in
                    guard tid < threads else { return }
                    let sc = s.scores + tid * s.capacity
                    for task in WorkerPool.chunk(tid, of: threads, count: tasks) {
                        let i = task / nh, h = task % nh, n = positions[i] + 1
                        let qh = s.qkv + i * ld + h * d, kvh = h / group
                        let kBase = cache.keys + slots[i] * cap * kv + kvh * d, vBase = cache.values + slots[i] * cap * kv + kvh * d
                        for j in 0..<n { sc[j] = scale * dot(qh, kBase + j * kv, d) }
                        Softmax.row(sc, count: n)
                        let o = s.atty + i * c + h * d
                        o.update(repeating: 0, count: d)
                        for j in 0..<n { axpy(sc[j], vBase + j * kv, o, d) }
                    }
                }
            }
        }
    }
}

extension TransformerLayer {
    /// Causal attention of `rows` consecutive positions `first...` of one slot (a prompt chunk)
    /// over the slot's cache, as two small matrix products per head (one head per task):
    /// `S = QKᵀ/√d` over positions `0..<first+rows`, each row's softmax over its own prefix
    /// (later positions zeroed), then `O = S·V`.
    func attendChunk(_ cache: LayerKVView, slot: Int, first: Int, rows n: Int, scratch s: DecodeScratch, pool: WorkerPool) {
        let c = channels, nh = heads, d = headDim, ld = qkvWidth, kv = kvHeads * d, group = heads / kvHeads
        let span = first + n, scale = 1 / Float(d).squareRoot()
        let keys = cache.keys + slot * cache.capacity * kv, values = cache.values + slot * cache.capacity * kv
        let threads = min(pool.threadCount, nh)
        pool.run { tid in
            guard tid < threads else { return }
            let sc = s.scores + tid * s.rows * s.capacity
            for h in WorkerPool.chunk(tid, of: threads, count: nh) {
                let kvh = h / group
                gemm(transB: true, m: n, n: span, k: d, alpha: scale, a: s.qkv + h * d, lda: ld, b: keys + kvh * d, ldb: kv,
                     beta: 0, c: sc, ldc: span, pool: .serial)
                for i in 0..<n {
                    let row = sc + i * span, valid = first + i + 1
                    Softmax.row(row, count: valid)
                    (row + valid).update(repeating: 0, count: span - valid)
                }
                gemm(m: n, n: d, k: span, a: sc, lda: span, b: values + kvh * d, ldb: kv, beta: 0, c: s.atty + h * d, ldc: c,
                     pool: .serial)
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
