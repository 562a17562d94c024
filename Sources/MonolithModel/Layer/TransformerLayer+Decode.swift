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

/// bf16 copies of the four matrices a decode step reads (half the memory traffic of fp32).
public struct PackedBlockWeights {
    public let qkv, attnProj, fc, fcProj: BF16Matrix

    /// Packs block `w` of `config`'s shape.
    public init(_ w: BlockTensors, config: GPTConfig, pool: WorkerPool) {
        let c = config.nEmbd, q = config.qkvWidth, f = config.fcWidth, h = config.intermediateSize
        qkv = BF16Matrix(w.qkvw, rows: c, cols: q, ld: q, pool: pool)
        attnProj = BF16Matrix(w.attnProjW, rows: c, cols: c, ld: c, pool: pool)
        fc = BF16Matrix(w.fcW, rows: c, cols: f, ld: f, pool: pool)
        fcProj = BF16Matrix(w.fcProjW, rows: h, cols: c, ld: c, pool: pool)
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

    /// Scratch for `rows` sequences of `config`'s model, over caches of `capacity`.
    public init(rows: Int, config: GPTConfig, capacity: Int, pool: WorkerPool) {
        self.rows = rows; self.capacity = capacity
        let c = config.nEmbd
        buffers = [rows * c, rows * config.qkvWidth, rows * c, rows * config.fcWidth, rows * config.intermediateSize, rows, rows,
                   pool.threadCount * capacity]
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
    ///   - packed: bf16 copies of the matrices, read instead of `w`'s when there are few rows.
    public func decode(_ x: UnsafeMutablePointer<Float>, w: BlockTensors, packed: PackedBlockWeights?, cache: LayerKVView,
                       slots: [Int], positions: [Int], scratch s: DecodeScratch, pool: WorkerPool) {
        precondition(alone, "decoding runs on a single rank")
        let b = slots.count, c = channels, ld = qkvWidth, kv = localKVHeads * headDim
        normalize(output: s.ln, mean: s.mean, rstd: s.rstd, input: x, weight: w.ln1w, bias: w.ln1b, rows: b, pool: pool)
        Self.decodeLinear(s.qkv, s.ln, w.qkvw, packed?.qkv, bias: w.qkvb, rows: b, k: c, n: ld, accumulate: false, pool: pool)
        for (i, slot) in slots.enumerated() {
            let row = s.qkv + i * ld
            rope?.rotate(row, heads: heads + kvHeads, position: positions[i])
            let dst = (slot * cache.capacity + positions[i]) * kv
            (cache.keys + dst).update(from: row + c, count: kv)
            (cache.values + dst).update(from: row + c + kv, count: kv)
        }
        attendOverCache(cache, slots: slots, positions: positions, scratch: s, pool: pool)
        if let bias = w.attnProjB { Residual.copyAddingBias(output: x, input: x, bias: bias, rows: b, cols: c, pool: pool) }
        Self.decodeLinear(x, s.atty, w.attnProjW, packed?.attnProj, bias: nil, rows: b, k: c, n: c, accumulate: true, pool: pool)
        normalize(output: s.ln, mean: s.mean, rstd: s.rstd, input: x, weight: w.ln2w, bias: w.ln2b, rows: b, pool: pool)
        Self.decodeLinear(s.fch, s.ln, w.fcW, packed?.fc, bias: nil, rows: b, k: c, n: fcWidth, accumulate: false, pool: pool)
        activation(output: s.fchGelu, input: s.fch, bias: w.fcB, rows: b, pool: pool)
        if let bias = w.fcProjB { Residual.copyAddingBias(output: x, input: x, bias: bias, rows: b, cols: c, pool: pool) }
        Self.decodeLinear(x, s.fchGelu, w.fcProjW, packed?.fcProj, bias: nil, rows: b, k: hidden, n: c, accumulate: true, pool: pool)
    }

    /// `out (+)= input · W (+ bias)`, reading the bf16 copy of `W` when there is one and few rows
    /// (beyond 4 rows the fp32 GEMM wins: the weights are read once either way).
    static func decodeLinear(_ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                             _ packedW: BF16Matrix?, bias: UnsafePointer<Float>?, rows: Int, k: Int, n: Int, accumulate: Bool,
                             pool: WorkerPool) {
        guard let packedW, rows <= 4 else {
            Linear.forward(output: out, input: input, weight: w, bias: bias, rows: rows, inFeatures: k, outFeatures: n,
                           accumulate: accumulate, pool: pool)
            return
        }
        if let bias { Residual.copyAddingBias(output: out, input: nil, bias: bias, rows: rows, cols: n, pool: .serial) }
        packedW.rowsTimesMatrix(y: out, x: input, rows: rows, accumulate: accumulate || bias != nil, pool: pool)
    }

    /// Single-query attention of each row's newest position over its slot, one (row, head) per task.
    func attendOverCache(_ cache: LayerKVView, slots: [Int], positions: [Int], scratch s: DecodeScratch, pool: WorkerPool) {
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
