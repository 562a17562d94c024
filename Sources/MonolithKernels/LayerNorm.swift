/// Layer normalization over the last dimension, as `torch.nn.LayerNorm(C, eps)`.
///
/// Shapes: `input`, `output` are `[N, C]`; `mean`, `rstd` are `[N]` and are saved for backward.
public enum LayerNorm {
    /// `out = (x - mean) · rstd · weight + bias`, row by row.
    public static func forward(output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, channels c: Int, eps: Float, pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range {
                let x = input + r * c
                let y = output + r * c
                var sum = Vec(), j = 0
                while j + vecWidth <= c { sum += load(x + j); j += vecWidth }
                var s = sum.sum()
                while j < c { s += x[j]; j += 1 }
                let m = s / Float(c)
                var varAcc = Vec(), mv = Vec(repeating: m)
                j = 0
                while j + vecWidth <= c { let d = load(x + j) - mv; varAcc = varAcc.addingProduct(d, d); j += vecWidth }
                var v = varAcc.sum()
                while j < c { let d = x[j] - m; v += d * d; j += 1 }
                let rs = 1 / (v / Float(c) + eps).squareRoot()
                mean[r] = m; rstd[r] = rs
                let rsv = Vec(repeating: rs)
                mv = Vec(repeating: m)
                j = 0
                while j + vecWidth <= c {
                    let n = (load(x + j) - mv) * rsv
                    store(load(bias + j).addingProduct(n, load(weight + j)), y + j)
                    j += vecWidth
                }
                while j < c { y[j] = (x[j] - m) * rs * weight[j] + bias[j]; j += 1 }
            }
        }
    }

    /// Accumulates `dinput += ∂L/∂x`, `dweight += Σ dout·x̂`, `dbias += Σ dout`.
    ///
    /// `scratch` holds `2·C` floats per pool thread: each thread sums its rows' weight and bias
    /// gradients privately, and the partial sums are added at the end, so no atomics are needed.
    public static func backward(dinput: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>, doutput: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                rows: Int, channels c: Int, scratch: UnsafeMutablePointer<Float>,
                                pool: WorkerPool = .shared) {
        let threads = min(pool.threadCount, rows)
        pool.run { t in
            guard t < threads else { return }
            let dw = scratch + t * 2 * c, db = dw + c
            dw.initialize(repeating: 0, count: 2 * c)
            for r in WorkerPool.chunk(t, of: threads, count: rows) {
                let x = input + r * c, dy = doutput + r * c, dx = dinput + r * c
                let m = Vec(repeating: mean[r]), rs = Vec(repeating: rstd[r])
                // dx = rstd · (g - mean(g) - x̂ · mean(g·x̂)), with g = dout · weight.
                var gSum = Vec(), gxSum = Vec(), j = 0
                while j + vecWidth <= c {
                    let xh = (load(x + j) - m) * rs
                    let dyv = load(dy + j)
                    let g = dyv * load(weight + j)
                    gSum += g; gxSum = gxSum.addingProduct(g, xh)
                    store(load(db + j) + dyv, db + j)
                    store(load(dw + j).addingProduct(dyv, xh), dw + j)
                    j += vecWidth
                }
                var gs = gSum.sum(), gxs = gxSum.sum()
                while j < c {
                    let xh = (x[j] - mean[r]) * rstd[r]
                    let g = dy[j] * weight[j]
                    gs += g; gxs += g * xh
                    db[j] += dy[j]; dw[j] += dy[j] * xh
                    j += 1
                }
                let gMean = Vec(repeating: gs / Float(c)), gxMean = Vec(repeating: gxs / Float(c))
                j = 0
                while j + vecWidth <= c {
                    let xh = (load(x + j) - m) * rs
                    let g = load(dy + j) * load(weight + j)
                    let d = (g - gMean - xh * gxMean) * rs
                    store(load(dx + j) + d, dx + j)
                    j += vecWidth
                }
                while j < c {
                    let xh = (x[j] - mean[r]) * rstd[r]
                    let g = dy[j] * weight[j]
                    dx[j] += (g - gMean[0] - xh * gxMean[0]) * rstd[r]
                    j += 1
                }
            }
        }
        for t in 0..<threads {
            let dw = scratch + t * 2 * c, db = dw + c
            for j in 0..<c { dweight[j] += dw[j]; dbias[j] += db[j] }
        }
    }

    /// Floats of `scratch` that ``backward(dinput:dweight:dbias:doutput:input:weight:mean:rstd:rows:channels:scratch:pool:)`` needs.
    public static func scratchCount(channels: Int, pool: WorkerPool = .shared) -> Int { 2 * channels * pool.threadCount }
}
