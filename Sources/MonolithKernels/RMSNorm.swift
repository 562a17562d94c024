/// Root-mean-square normalization over the last dimension, as Hugging Face's `LlamaRMSNorm`:
/// `y = weight · x / √(mean(x²) + eps)`, statistics in fp32.
///
/// Shapes: `input`, `output` are `[N, C]`; `rstd` is `[N]`, saved for backward.
public enum RMSNorm {
    /// `out = x · rstd · weight`, row by row.
    public static func forward(output: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, rows: Int, channels c: Int, eps: Float, pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range { rstd[r] = row(output + r * c, input + r * c, weight, c, eps) }
        }
    }

    /// One row; returns its `rstd`.
    @inline(__always)
    static func row(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ c: Int,
                    _ eps: Float) -> Float {
        var acc = Vec(), j = 0
        while j + vecWidth <= c { let v = load(x + j); acc = acc.addingProduct(v, v); j += vecWidth }
        var s = acc.sum()
        while j < c { s += x[j] * x[j]; j += 1 }
        let rs = 1 / (s / Float(c) + eps).squareRoot()
        let rsv = Vec(repeating: rs)
        j = 0
        while j + vecWidth <= c { store(load(w + j) * (load(x + j) * rsv), y + j); j += vecWidth }
        while j < c { y[j] = w[j] * (x[j] * rs); j += 1 }
        return rs
    }

    /// Accumulates `dinput += ∂L/∂x` and `dweight += Σ dout · x · rstd`.
    ///
    /// With `g = dout · weight`: `dx = rstd · g − x · rstd³ · mean(g · x)`. `scratch` holds `C`
    /// floats per pool thread for private weight-gradient sums (no atomics).
    public static func backward(dinput: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                doutput: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, rows: Int, channels c: Int, scratch: UnsafeMutablePointer<Float>,
                                pool: WorkerPool = .shared) {
        let threads = min(pool.threadCount, rows)
        pool.run { t in
            guard t < threads else { return }
            let dw = scratch + t * c
            dw.initialize(repeating: 0, count: c)
            for r in WorkerPool.chunk(t, of: threads, count: rows) {
                let x = input + r * c, dy = doutput + r * c, dx = dinput + r * c
                let rs = rstd[r], rsv = Vec(repeating: rs)
                var gx = Vec(), j = 0
                while j + vecWidth <= c {
                    let xv = load(x + j), dyv = load(dy + j)
                    gx = gx.addingProduct(dyv * load(weight + j), xv)
                    store(load(dw + j).addingProduct(dyv, xv * rsv), dw + j)
                    j += vecWidth
                }
                var s = gx.sum()
                while j < c { s += dy[j] * weight[j] * x[j]; dw[j] += dy[j] * (x[j] * rs); j += 1 }
                let k = rs * rs * rs * s / Float(c), kv = Vec(repeating: k)
                j = 0
                while j + vecWidth <= c {
                    let g = load(dy + j) * load(weight + j)
                    store(load(dx + j) + (g * rsv - load(x + j) * kv), dx + j)
                    j += vecWidth
                }
                while j < c { dx[j] += dy[j] * weight[j] * rs - x[j] * k; j += 1 }
            }
        }
        for t in 0..<threads {
            let dw = scratch + t * c
            for j in 0..<c { dweight[j] += dw[j] }
        }
    }
}
