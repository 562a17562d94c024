/// Causal multi-head self-attention core: `softmax(QKᵀ/√d + mask) · V` per (batch, head).
///
/// Layout follows Hugging Face GPT-2: `qkv` is `[B, T, 3·C]` with Q, K, V side by side and head
/// `h` at columns `h·d ..< (h+1)·d` of each; the output is `[B, T, C]` with heads interleaved the
/// same way. `C` here is the *local* width (`heads · d`), so a tensor-parallel shard runs this same
/// code with fewer heads. With grouped-query attention (`kvHeads < heads`) the rows are
/// `[Q (H·d) | K (H_kv·d) | V (H_kv·d)]` and query head `h` reads key/value head
/// `h / (H / H_kv)`, as Llama's `repeat_kv`.
///
/// Each (batch, head) pair is one task for the pool, computed with single-threaded GEMMs on row
/// blocks of 64 so that the masked upper triangle is mostly skipped (62.5% of the full work at T=256).
public enum Attention {
    @usableFromInline static let block = 64

    /// Floats of per-thread scratch that ``backward`` needs.
    public static func scratchCount(seqLen t: Int, pool: WorkerPool = .shared) -> Int { 2 * t * t * pool.threadCount }

    /// Computes `probs` (`[B, H, T, T]`, saved for backward, pre-dropout) and `output`.
    /// `scratch` (size ``scratchCount(seqLen:pool:)``) is needed only when `dropout` is active.
    /// `maskHeads` places these heads at `offset` among `total` when indexing the dropout mask, so a
    /// tensor-parallel rank's heads draw the same mask as in the whole model.
    public static func forward(output: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch b: Int, seqLen t: Int, heads nh: Int,
                               headDim d: Int, kvHeads: Int? = nil, dropout: Dropout = Dropout(p: 0, seed: 0),
                               maskHeads: (offset: Int, total: Int)? = nil,
                               scratch: UnsafeMutablePointer<Float>? = nil, pool: WorkerPool = .shared) {
        precondition(!dropout.isActive || scratch != nil, "attention dropout needs scratch (backward would apply a mask forward skipped)")
        let nkv = kvHeads ?? nh, group = nh / nkv
        let c = nh * d, ld = (nh + 2 * nkv) * d
        let scale = 1 / Float(d).squareRoot()
        let blas = Blas.shared
        let pairs = b * nh
        let threads = min(pool.threadCount, pairs)
        pool.run { tid in
            guard tid < threads else { return }
            for pair in WorkerPool.chunk(tid, of: threads, count: pairs) {
                let bi = pair / nh, h = pair % nh
                let q = qkv + bi * t * ld + h * d, k = qkv + bi * t * ld + c + (h / group) * d, v = k + nkv * d
                let p = probs + pair * t * t
                let o = output + bi * t * c + h * d
                var i0 = 0
                while i0 < t {
                    let i1 = min(t, i0 + block)
                    blas.sgemm(transA: false, transB: true, m: i1 - i0, n: i1, k: d, alpha: scale,
                               a: q + i0 * ld, lda: ld, b: k, ldb: ld, beta: 0, c: p + i0 * t, ldc: t)
                    for i in i0..<i1 { causalSoftmaxRow(p + i * t, valid: i + 1, width: t) }
                    i0 = i1
                }
                var pv = UnsafePointer(p)
                if dropout.isActive, let scratch {
                    let pd = scratch + tid * 2 * t * t
                    let mp = maskHeads.map { bi * $0.total + $0.offset + h } ?? pair
                    for i in 0..<t * t { pd[i] = p[i] * dropout.scale(at: mp * t * t + i) }
                    pv = UnsafePointer(pd)
                }
                i0 = 0
                while i0 < t {
                    let i1 = min(t, i0 + block)
                    blas.sgemm(transA: false, transB: false, m: i1 - i0, n: d, k: i1,
                               a: pv + i0 * t, lda: t, b: v, ldb: ld, beta: 0, c: o + i0 * c, ldc: c)
                    i0 = i1
                }
            }
        }
    }

    /// Writes `dqkv` (`[B, T, 3·C]`, overwritten) from `doutput` (`[B, T, C]`).
    public static func backward(dqkv: UnsafeMutablePointer<Float>, doutput: UnsafePointer<Float>,
                                qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                                batch b: Int, seqLen t: Int, heads nh: Int, headDim d: Int, kvHeads: Int? = nil,
                                dropout: Dropout = Dropout(p: 0, seed: 0), maskHeads: (offset: Int, total: Int)? = nil,
                                scratch: UnsafeMutablePointer<Float>, pool: WorkerPool = .shared) {
        let nkv = kvHeads ?? nh, group = nh / nkv
        let c = nh * d, ld = (nh + 2 * nkv) * d
        let scale = 1 / Float(d).squareRoot()
        let blas = Blas.shared
        // One task per (batch, key/value head): the query heads sharing it add into its dK and dV
        // in turn (β = 0 for the first, 1 after), so no two threads write the same rows.
        let tasks = b * nkv
        let threads = min(pool.threadCount, tasks)
        pool.run { tid in
            guard tid < threads else { return }
            let dp = scratch + tid * 2 * t * t
            let pd = dp + t * t
            for task in WorkerPool.chunk(tid, of: threads, count: tasks) {
              for member in 0..<group {
                let bi = task / nkv, kvh = task % nkv, h = kvh * group + member, pair = bi * nh + h
                let kvBeta: Float = member == 0 ? 0 : 1
                let q = qkv + bi * t * ld + h * d, k = qkv + bi * t * ld + c + kvh * d, v = k + nkv * d
                let dq = dqkv + bi * t * ld + h * d, dk = dqkv + bi * t * ld + c + kvh * d, dv = dk + nkv * d
                let p = probs + pair * t * t
                let dout = doutput + bi * t * c + h * d
                var pUsed = p
                let mp = maskHeads.map { bi * $0.total + $0.offset + h } ?? pair
                if dropout.isActive {
                    for i in 0..<t * t { pd[i] = p[i] * dropout.scale(at: mp * t * t + i) }
                    pUsed = UnsafePointer(pd)
                }
                // dV[j-block] = P'[j0..<T, j-block]ᵀ · dO[j0..<T]
                var j0 = 0
                while j0 < t {
                    let j1 = min(t, j0 + block)
                    blas.sgemm(transA: true, transB: false, m: j1 - j0, n: d, k: t - j0,
                               a: pUsed + j0 * t + j0, lda: t, b: dout + j0 * c, ldb: c,
                               beta: kvBeta, c: dv + j0 * ld, ldc: ld)
                    j0 = j1
                }
                // dP = dO · Vᵀ (lower triangle, by row blocks), then through dropout and softmax.
                var i0 = 0
                while i0 < t {
                    let i1 = min(t, i0 + block)
                    blas.sgemm(transA: false, transB: true, m: i1 - i0, n: i1, k: d,
                               a: dout + i0 * c, lda: c, b: v, ldb: ld, beta: 0, c: dp + i0 * t, ldc: t)
                    for i in i0..<i1 {
                        let row = dp + i * t, prow = p + i * t
                        if dropout.isActive {
                            for j in 0...i { row[j] *= dropout.scale(at: mp * t * t + i * t + j) }
                        }
                        softmaxBackwardRow(row, probs: prow, valid: i + 1, width: t)
                    }
                    i0 = i1
                }
                // dQ = scale · dS · K ; dK[j-block] = scale · dS[j0..<T, j-block]ᵀ · Q[j0..<T]
                i0 = 0
                while i0 < t {
                    let i1 = min(t, i0 + block)
                    blas.sgemm(transA: false, transB: false, m: i1 - i0, n: d, k: i1, alpha: scale,
                               a: dp + i0 * t, lda: t, b: k, ldb: ld, beta: 0, c: dq + i0 * ld, ldc: ld)
                    i0 = i1
                }
                j0 = 0
                while j0 < t {
                    let j1 = min(t, j0 + block)
                    blas.sgemm(transA: true, transB: false, m: j1 - j0, n: d, k: t - j0, alpha: scale,
                               a: dp + j0 * t + j0, lda: t, b: q + j0 * ld, ldb: ld,
                               beta: kvBeta, c: dk + j0 * ld, ldc: ld)
                    j0 = j1
                }
              }
            }
        }
    }

    /// In-place softmax over `row[0..<valid]`, zeroing `row[valid..<width]` (the causal mask).
    @inlinable
    public static func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, valid: Int, width: Int) {
        Softmax.row(row, count: valid)
        if valid < width { (row + valid).initialize(repeating: 0, count: width - valid) }
    }

    /// `row = P ⊙ (row − Σ row⊙P)` over the valid prefix; zero beyond it. `row` holds ∂L/∂P on entry.
    @inlinable
    static func softmaxBackwardRow(_ row: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
                                   valid: Int, width: Int) {
        var acc = Vec(), j = 0
        while j + vecWidth <= valid { acc = acc.addingProduct(load(row + j), load(probs + j)); j += vecWidth }
        var dot = acc.sum()
        while j < valid { dot += row[j] * probs[j]; j += 1 }
        let dv = Vec(repeating: dot)
        j = 0
        while j + vecWidth <= valid { store(load(probs + j) * (load(row + j) - dv), row + j); j += vecWidth }
        while j < valid { row[j] = probs[j] * (row[j] - dot); j += 1 }
        if valid < width { (row + valid).initialize(repeating: 0, count: width - valid) }
    }
}
