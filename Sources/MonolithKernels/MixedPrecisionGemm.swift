import CBF16GEMM
import Foundation

/// How bf16 matrix products run on this machine, chosen once per process.
///
/// - ``Backend/avx512bf16``: Monolith's own micro-kernel (`Sources/CBF16GEMM`), `vdpbf16ps` on
///   operands rounded to bf16 while they are packed. Debian's OpenBLAS 0.3.21 is built without
///   `sbgemm`, and neither BLIS nor oneDNN is packaged with a bf16 GEMM, so there is no library to
///   choose here.
/// - ``Backend/emulated``: operands rounded to bf16 in copies, then the fp32 BLAS. The numbers are
///   the same (a product of two bf16 values is exact in fp32); only the summation order differs.
///   Used where the CPU has no bf16 arithmetic, or where measurement finds it slower.
///
/// Where both exist the faster is taken by timing one GPT-2-sized product at start-up, as the
/// issue of fast bf16 on Zen 4 versus slow bf16 on older Xeons demands. `MONOLITH_BF16_GEMM=avx512`
/// or `=emulated` forces a choice.
public enum BF16Gemm {
    /// The two ways to multiply.
    public enum Backend: String, Sendable {
        case avx512bf16 = "avx512-bf16 micro-kernel"
        case emulated = "bf16-rounded operands, fp32 BLAS"
    }

    /// Whether this CPU runs the AVX512-BF16 kernel.
    public static let isSupported: Bool = monolith_bf16_gemm_supported() != 0

    /// The choice, with the GFLOP/s each candidate reached at start-up (nil when not timed).
    public static let selection: (backend: Backend, kernelGFLOPS: Double?, emulatedGFLOPS: Double?) = {
        let env = ProcessInfo.processInfo.environment["MONOLITH_BF16_GEMM"]
        if env == "emulated" || !isSupported { return (.emulated, nil, nil) }
        if env == "avx512" { return (.avx512bf16, nil, nil) }
        let kernel = measure(.avx512bf16), emulated = measure(.emulated)
        return (kernel >= emulated ? .avx512bf16 : .emulated, kernel, emulated)
    }()

    /// The backend bf16 products use.
    public static var backend: Backend { selection.backend }

    /// How `precision`'s products run: nil for fp32 (the BLAS as it is), ``backend`` for bf16, and
    /// ``Backend/emulated`` for fp16 (no CPU here has AVX512-FP16).
    public static func backend(for precision: Precision) -> Backend? {
        switch precision {
        case .fp32: return nil
        case .bf16: return backend
        case .fp16: return .emulated
        }
    }

    /// What runs `precision`'s products, for benchmark reports: the BLAS library, or the backend.
    public static func description(of precision: Precision) -> String {
        backend(for: precision)?.rawValue ?? Blas.shared.description
    }

    /// GFLOP/s of `backend` on a `512 × 768 × 2304` product (the qkv matmul of GPT-2 at B·T = 512), best of 3.
    public static func measure(_ backend: Backend, m: Int = 512, n: Int = 2304, k: Int = 768, pool: WorkerPool = .shared) -> Double {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<(m * k) { a.base[i] = Float(i % 7) * 0.25 - 0.5 }
        for i in 0..<(k * n) { b.base[i] = Float(i % 5) * 0.125 - 0.25 }
        var best = 0.0
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            multiply(backend: backend, precision: .bf16, transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                     a: a.base, lda: k, b: b.base, ldb: n, beta: 0, c: c.base, ldc: n, pool: pool)
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, 2 * Double(m * n * k) / s / 1e9)
        }
        return best
    }

    /// `C = alpha · op(A) · op(B) + beta · C` with both operands rounded to `precision`, on `backend`.
    static func multiply(backend: Backend, precision: Precision, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, pool: WorkerPool) {
        if m == 0 || n == 0 { return }
        if backend == .avx512bf16 && precision == .bf16 {
            let call = { (m: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) in
                monolith_bf16_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            }
            if pool.threadCount == 1 || m * n * k < 1 << 18 { call(m, n, a, b, c); return }
            // The same split as the fp32 `gemm`: whole column (or row) blocks per thread.
            if n >= m {
                pool.parallelFor(n, alignment: 64) { cols in
                    call(m, cols.count, a, b + (transB ? cols.lowerBound * ldb : cols.lowerBound), c + cols.lowerBound)
                }
            } else {
                pool.parallelFor(m, alignment: 64) { rows in
                    call(rows.count, n, a + (transA ? rows.lowerBound : rows.lowerBound * lda), b, c + rows.lowerBound * ldc)
                }
            }
            return
        }
        // Emulated: round copies of the stored operands (their whole strided extent), then fp32 BLAS.
        let aCount = (transA ? k - 1 : m - 1) * lda + (transA ? m : k)
        let bCount = (transB ? n - 1 : k - 1) * ldb + (transB ? k : n)
        let ra = UnsafeMutablePointer<Float>.allocate(capacity: aCount), rb = UnsafeMutablePointer<Float>.allocate(capacity: bCount)
        defer { ra.deallocate(); rb.deallocate() }
        ra.update(from: a, count: aCount); rb.update(from: b, count: bCount)
        precision.round(ra, count: aCount, pool: pool)
        precision.round(rb, count: bCount, pool: pool)
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ra, lda: lda, b: rb, ldb: ldb, beta: beta,
             c: c, ldc: ldc, pool: pool)
    }
}

/// ``gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:pool:)`` at a training precision: fp32
/// as it is, bf16 and fp16 with both operands rounded to that format and fp32 accumulation
/// (``BF16Gemm`` picks how bf16 runs; fp16 is always emulated, as no CPU here has AVX512-FP16).
public func gemm(precision: Precision, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, pool: WorkerPool = .shared) {
    guard let backend = BF16Gemm.backend(for: precision) else {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
             c: c, ldc: ldc, pool: pool)
        return
    }
    BF16Gemm.multiply(backend: backend, precision: precision, transA: transA,
                      transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                      pool: pool)
}
