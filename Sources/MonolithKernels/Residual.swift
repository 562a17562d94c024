/// Elementwise helpers around the residual stream and biases.
public enum Residual {
    /// `output[r, :] = input[r, :] + bias` (bias optional), for `[rows, cols]` matrices.
    /// Used to pre-fill a GEMM output that is then accumulated with `beta = 1`.
    public static func copyAddingBias(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>?,
                                      bias: UnsafePointer<Float>, rows: Int, cols: Int,
                                      pool: WorkerPool = .shared) {
        pool.parallelFor(rows) { range in
            for r in range {
                let y = output + r * cols
                var j = 0
                if let input {
                    let x = input + r * cols
                    while j + vecWidth <= cols { store(load(x + j) + load(bias + j), y + j); j += vecWidth }
                    while j < cols { y[j] = x[j] + bias[j]; j += 1 }
                } else {
                    while j + vecWidth <= cols { store(load(bias + j), y + j); j += vecWidth }
                    while j < cols { y[j] = bias[j]; j += 1 }
                }
            }
        }
    }

    /// `output = a + b` elementwise over `count` floats (`output` may alias `a`).
    public static func add(output: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           count: Int, pool: WorkerPool = .shared) {
        pool.parallelFor(count, alignment: vecWidth) { range in
            var j = range.lowerBound
            while j + vecWidth <= range.upperBound { store(load(a + j) + load(b + j), output + j); j += vecWidth }
            while j < range.upperBound { output[j] = a[j] + b[j]; j += 1 }
        }
    }

    /// `dbias[j] += Σ_r dout[r, j]`: the bias gradient of a linear layer.
    public static func accumulateColumnSums(_ dbias: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                            rows: Int, cols: Int, pool: WorkerPool = .shared) {
        // Split by columns: each thread owns a slice of dbias, so no reduction is needed.
        pool.parallelFor(cols, alignment: vecWidth) { range in
            var j = range.lowerBound
            while j + vecWidth <= range.upperBound {
                var acc = Vec()
                for r in 0..<rows { acc += load(dout + r * cols + j) }
                store(load(dbias + j) + acc, dbias + j)
                j += vecWidth
            }
            while j < range.upperBound {
                var acc: Float = 0
                for r in 0..<rows { acc += dout[r * cols + j] }
                dbias[j] += acc
                j += 1
            }
        }
    }
}
