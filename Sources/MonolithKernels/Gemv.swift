/// Matrix–vector products for a handful of rows (decoding), where a GEMM library's packing of the
/// weight matrix would copy hundreds of MB per token. These stream each weight once, straight from
/// memory, which is the bound for batch-1 decoding.
public enum Gemv {
    /// `y[b, :] (+)= x[b, :] · W` for `rows` ≤ 4 rows, `W` stored `[k, n]` row-major (`ldw` ≥ n).
    /// Threads split the columns; each keeps its slice of `y` in L1 while streaming rows of `W`.
    public static func rowsTimesMatrix(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                       rows: Int, k: Int, n: Int, ldw: Int, accumulate: Bool, pool: WorkerPool = .shared) {
        precondition(rows >= 1 && rows <= 4)
        pool.parallelFor(n, alignment: 64) { cols in
            for b in 0..<rows where !accumulate { (y + b * n + cols.lowerBound).update(repeating: 0, count: cols.count) }
            let j0 = cols.lowerBound, j1 = cols.upperBound
            var i = 0
            while i + 4 <= k {
                let w0 = w + i * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
                for b in 0..<rows {
                    let xb = x + b * k + i, yb = y + b * n
                    let a0 = Vec(repeating: xb[0]), a1 = Vec(repeating: xb[1]), a2 = Vec(repeating: xb[2]), a3 = Vec(repeating: xb[3])
                    var j = j0
                    while j + vecWidth <= j1 {
                        var acc = load(yb + j).addingProduct(a0, load(w0 + j))
                        acc = acc.addingProduct(a1, load(w1 + j))
                        acc = acc.addingProduct(a2, load(w2 + j))
                        store(acc.addingProduct(a3, load(w3 + j)), yb + j)
                        j += vecWidth
                    }
                    while j < j1 { yb[j] += xb[0] * w0[j] + xb[1] * w1[j] + xb[2] * w2[j] + xb[3] * w3[j]; j += 1 }
                }
                i += 4
            }
            while i < k {
                let wi = w + i * ldw
                for b in 0..<rows {
                    let a = x[b * k + i], yb = y + b * n
                    for j in j0..<j1 { yb[j] += a * wi[j] }
                }
                i += 1
            }
        }
    }

    /// `y[b, v] = x[b, :] · M[v, :]` for `rows` ≤ 4: products with every row of `M` (`[m, k]`),
    /// e.g. the tied output embedding. Threads split the rows of `M`.
    public static func rowsTimesMatrixTransposed(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                                 m matrix: UnsafePointer<Float>, rows: Int, mRows: Int, k: Int,
                                                 pool: WorkerPool = .shared) {
        precondition(rows >= 1 && rows <= 4)
        pool.parallelFor(mRows) { range in
            for v in range {
                let mv = matrix + v * k
                for b in 0..<rows {
                    let xb = x + b * k
                    var acc0 = Vec(), acc1 = Vec(), i = 0
                    while i + 2 * vecWidth <= k {
                        acc0 = acc0.addingProduct(load(xb + i), load(mv + i))
                        acc1 = acc1.addingProduct(load(xb + i + vecWidth), load(mv + i + vecWidth))
                        i += 2 * vecWidth
                    }
                    var s = (acc0 + acc1).sum()
                    while i < k { s += xb[i] * mv[i]; i += 1 }
                    y[b * mRows + v] = s
                }
            }
        }
    }
}
