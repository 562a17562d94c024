/// The SwiGLU activation of Llama's MLP: `h = silu(gate) · up`, with `silu(x) = x · σ(x)`.
///
/// The first projection writes `[rows, 2·H]` rows as `[gate | up]` (one GEMM for both), and the
/// output is `[rows, H]`.
public enum SwiGLU {
    /// `output[r] = silu(input[r, 0..<H]) · input[r, H..<2H]`.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows: Int, hidden h: Int,
                               pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range {
                let g = input + r * 2 * h, u = g + h, y = output + r * h
                var j = 0
                while j + vecWidth <= h { store(silu(load(g + j)) * load(u + j), y + j); j += vecWidth }
                while j < h { y[j] = silu(Vec(repeating: g[j]))[0] * u[j]; j += 1 }
            }
        }
    }

    /// `dinput[r] = [dh · up · silu'(gate) | dh · silu(gate)]` (overwritten).
    public static func backward(dinput: UnsafeMutablePointer<Float>, doutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                rows: Int, hidden h: Int, pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range {
                let g = input + r * 2 * h, u = g + h, dy = doutput + r * h
                let dg = dinput + r * 2 * h, du = dg + h
                var j = 0
                while j + vecWidth <= h {
                    let gv = load(g + j), s = sigmoid(gv), dyv = load(dy + j)
                    store(dyv * gv * s, du + j)
                    // d silu/dx = σ(x) · (1 + x · (1 − σ(x)))
                    store(dyv * load(u + j) * s * (Vec(repeating: 1) + gv * (Vec(repeating: 1) - s)), dg + j)
                    j += vecWidth
                }
                while j < h {
                    let gv = g[j], s = sigmoid(Vec(repeating: gv))[0]
                    du[j] = dy[j] * gv * s
                    dg[j] = dy[j] * u[j] * s * (1 + gv * (1 - s))
                    j += 1
                }
            }
        }
    }

    @inlinable @inline(__always)
    static func sigmoid(_ x: Vec) -> Vec { Vec(repeating: 1) / (Vec(repeating: 1) + fastExp(-x)) }

    @inlinable @inline(__always)
    static func silu(_ x: Vec) -> Vec { x * sigmoid(x) }
}
