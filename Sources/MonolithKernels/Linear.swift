/// A fully connected layer in Hugging Face's Conv1D layout: `y = x · W + b` with `W` stored
/// `[in, out]`, so GPT-2 checkpoints load without transposes.
///
/// A tensor-parallel shard is the same call with `outFeatures` (column-parallel) or `inFeatures`
/// (row-parallel) divided by the group size.
public enum Linear {
    /// `output[rows, out] = input[rows, in] · weight + bias`; with `accumulate`, adds onto `output`.
    /// With a reduced `precision` both operands are rounded to it and products accumulate in fp32.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inFeatures k: Int, outFeatures n: Int,
                               accumulate: Bool = false, precision: Precision = .fp32, pool: WorkerPool = .shared) {
        if rows <= 4 && !precision.isReduced {
            // Decoding: stream the weights once instead of letting BLAS pack them.
            if let bias, !accumulate { Residual.copyAddingBias(output: output, input: nil, bias: bias, rows: rows, cols: n, pool: .serial) }
            Gemv.rowsTimesMatrix(y: output, x: input, w: weight, rows: rows, k: k, n: n, ldw: n,
                                 accumulate: accumulate || bias != nil, pool: pool)
            if let bias, accumulate {
                for i in 0..<rows { Residual.add(output: output + i * n, output + i * n, bias, count: n, pool: .serial) }
            }
            return
        }
        var beta: Float = accumulate ? 1 : 0
        if let bias, !accumulate {
            Residual.copyAddingBias(output: output, input: nil, bias: bias, rows: rows, cols: n, pool: pool)
            beta = 1
        }
        gemm(precision: precision, m: rows, n: n, k: k, a: input, lda: k, b: weight, ldb: n, beta: beta, c: output, ldc: n, pool: pool)
        if let bias, accumulate {
            // Rare path (bias on an accumulated output): add it after the product.
            pool.parallelFor(rows) { r in
                for i in r { Residual.add(output: output + i * n, output + i * n, bias, count: n, pool: .serial) }
            }
        }
    }

    /// `dweight += inputᵀ · doutput`, `dbias += Σ_rows doutput`, and `dinput = doutput · weightᵀ`
    /// (added onto `dinput` when `accumulateInput`). Pass `dinput: nil` to skip the input gradient.
    public static func backward(dinput: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>?, doutput: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows: Int, inFeatures k: Int, outFeatures n: Int,
                                accumulateInput: Bool = false, precision: Precision = .fp32, pool: WorkerPool = .shared) {
        gemm(precision: precision, transA: true, m: k, n: n, k: rows, a: input, lda: k, b: doutput, ldb: n,
             beta: 1, c: dweight, ldc: n, pool: pool)
        if let dbias { Residual.accumulateColumnSums(dbias, doutput, rows: rows, cols: n, pool: pool) }
        if let dinput {
            gemm(precision: precision, transB: true, m: rows, n: k, k: n, a: doutput, lda: n, b: weight, ldb: n,
                 beta: accumulateInput ? 1 : 0, c: dinput, ldc: k, pool: pool)
        }
    }
}
