/// GELU with the tanh approximation, as `torch.nn.functional.gelu(x, approximate="tanh")`.
///
/// Uses `0.5·x·(1 + tanh(u)) = x · σ(2u)` with `u = √(2/π)·(x + 0.044715·x³)`, so one
/// ``fastExp(_:)-(Vec)`` per element replaces the scalar `tanhf`.
public enum GELU {
    @usableFromInline static let k0: Float = 0.797_884_560_802_865_4  // √(2/π)
    @usableFromInline static let k1: Float = 0.044_715

    /// `output = gelu(input + bias)` for `[rows, cols]` matrices, also writing `input += bias`
    /// in place so that backward sees the pre-activation.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>?, rows: Int, cols: Int, pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range {
                let x = input + r * cols, y = output + r * cols
                var j = 0
                while j + vecWidth <= cols {
                    var v = load(x + j)
                    if let bias { v += load(bias + j); store(v, x + j) }
                    store(gelu(v), y + j)
                    j += vecWidth
                }
                while j < cols {
                    if let bias { x[j] += bias[j] }
                    y[j] = gelu(Vec(repeating: x[j]))[0]
                    j += 1
                }
            }
        }
    }

    /// `dinput = doutput · gelu'(input)`; `dinput` may alias `doutput`.
    public static func backward(dinput: UnsafeMutablePointer<Float>, doutput: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, count: Int, pool: WorkerPool = .shared) {
        pool.parallelFor(count, alignment: vecWidth) { range in
            var j = range.lowerBound
            while j + vecWidth <= range.upperBound {
                store(load(doutput + j) * derivative(load(input + j)), dinput + j)
                j += vecWidth
            }
            while j < range.upperBound {
                dinput[j] = doutput[j] * derivative(Vec(repeating: input[j]))[0]
                j += 1
            }
        }
    }

    @inlinable @inline(__always)
    static func gelu(_ x: Vec) -> Vec {
        let u = Vec(repeating: k0) * x.addingProduct(Vec(repeating: k1) * x, x * x)
        return x / (Vec(repeating: 1) + fastExp(Vec(repeating: -2) * u))
    }

    @inlinable @inline(__always)
    static func derivative(_ x: Vec) -> Vec {
        let x2 = x * x
        let u = Vec(repeating: k0) * x.addingProduct(Vec(repeating: k1) * x, x2)
        let s = Vec(repeating: 1) / (Vec(repeating: 1) + fastExp(Vec(repeating: -2) * u))
        // d/dx[x·σ(2u)] = σ + x·2σ(1−σ)·u'
        let du = Vec(repeating: k0) * Vec(repeating: 1).addingProduct(Vec(repeating: 3 * k1), x2)
        return s + Vec(repeating: 2) * x * s * (Vec(repeating: 1) - s) * du
    }
}
