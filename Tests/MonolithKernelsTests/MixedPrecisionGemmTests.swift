import Foundation
@testable import MonolithKernels
import MonolithTestSupport
import Testing

/// bf16/fp16 rounding and the mixed-precision GEMM: both backends against a Double reference on
/// the rounded operands. A product of two bf16 (or fp16) values is exact in fp32, so the only
/// difference a correct kernel may show is fp32 summation order, bounded by `k · 2⁻²⁴ · Σ|a||b|`.
@Suite("Mixed-precision GEMM")
struct MixedPrecisionGemmTests {
    @Test("bf16 rounding is round-to-nearest-even, keeps NaN, overflows to infinity")
    func bf16Rounding() {
        let one: Float = 1, ulp = Float(1) / 128  // bf16 keeps 7 fraction bits
        let cases: [(Float, Float)] = [
            (one + ulp / 2, one),                  // tie, rounds to the even 1.0
            (one + 3 * ulp / 2, one + 2 * ulp),    // tie, rounds up to even
            (one + ulp / 2 + ulp / 64, one + ulp), // past the tie
            (-(one + 3 * ulp / 2), -(one + 2 * ulp)),
            (Float.greatestFiniteMagnitude, .infinity),
            (0, 0), (.infinity, .infinity),
        ]
        for (x, want) in cases { #expect(Precision.bf16.rounded(x) == want, "\(x)") }
        #expect(Precision.bf16.rounded(.nan).isNaN)
        #expect(Precision.fp16.rounded(70000).isInfinite)
        #expect(Precision.fp16.rounded(one + Float(1) / 4096) == one)
        #expect(Precision.fp32.rounded(one + Float(1) / 4096) == one + Float(1) / 4096)
        // The SIMD body and the scalar tail agree (a length that is not a multiple of 16).
        var g = SeededGenerator(seed: 7)
        var xs = g.floats(37, in: -3...3)
        let singly = xs.map { Precision.bf16.rounded($0) }
        xs.withUnsafeMutableBufferPointer { Precision.bf16.round($0.baseAddress!, count: 37, pool: .serial) }
        #expect(xs == singly)
    }

    static let shapes: [(m: Int, n: Int, k: Int)] = [(13, 45, 37), (70, 33, 129), (64, 96, 800), (1, 1, 1)]

    @Test("bf16 and fp16 products match a Double reference on the rounded operands",
          arguments: [(Precision.bf16, BF16Gemm.Backend.avx512bf16), (.bf16, .emulated), (.fp16, .emulated)],
          [(false, false), (true, false), (false, true), (true, true)])
    func product(_ setting: (Precision, BF16Gemm.Backend), _ trans: (Bool, Bool)) throws {
        let (precision, backend) = setting
        if backend == .avx512bf16 && !BF16Gemm.isSupported { return }  // the emulated cases still run
        var g = SeededGenerator(seed: 11)
        for s in Self.shapes {
            let (ta, tb) = trans
            let lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2
            let a = g.floats((ta ? s.k : s.m) * lda, in: -2...2), b = g.floats((tb ? s.n : s.k) * ldb, in: -2...2)
            let c0 = g.floats(s.m * ldc, in: -1...1)
            let ra = a.map { precision.rounded($0) }, rb = b.map { precision.rounded($0) }
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (1, -0.75)] {
                var c = c0
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    BF16Gemm.multiply(backend: backend, precision: precision, transA: ta, transB: tb, m: s.m, n: s.n, k: s.k,
                                      alpha: alpha, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                                      c: pc.baseAddress!, ldc: ldc, pool: .shared)
                } } }
                for i in 0..<s.m {
                    for j in 0..<s.n {
                        var sum = 0.0, mag = 0.0
                        for p in 0..<s.k {
                            let x = Double(ta ? ra[p * lda + i] : ra[i * lda + p]), y = Double(tb ? rb[j * ldb + p] : rb[p * ldb + j])
                            sum += x * y; mag += abs(x * y)
                        }
                        let want = Double(alpha) * sum + Double(beta) * Double(c0[i * ldc + j])
                        let bound = (Double(s.k) + 2) * 0x1p-23 * (abs(Double(alpha)) * mag + abs(Double(beta * c0[i * ldc + j])))
                        #expect(abs(Double(c[i * ldc + j]) - want) <= bound, "\(precision) \(backend) \(s) at \(i),\(j)")
                    }
                    // Padding columns of C are not written.
                    for j in s.n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j]) }
                }
            }
        }
    }

    @Test("the kernel and the emulation agree on a GPT-2 sized product, split over the pool")
    func backendsAgree() {
        guard BF16Gemm.isSupported else { return }
        let m = 256, n = 2304, k = 768
        var g = SeededGenerator(seed: 3)
        let a = g.floats(m * k, in: -1...1), b = g.floats(k * n, in: -1...1)
        var c1 = [Float](repeating: 0, count: m * n), c2 = c1
        for (backend, out) in [(BF16Gemm.Backend.avx512bf16, 0), (.emulated, 1)] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                BF16Gemm.multiply(backend: backend, precision: .bf16, transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                                  a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, beta: 0, c: pc.baseAddress!, ldc: n, pool: .shared)
            } } }
            if out == 0 { c1 = c } else { c2 = c }
        }
        var worst: Float = 0
        for i in 0..<(m * n) { worst = max(worst, abs(c1[i] - c2[i])) }
        #expect(worst < 1e-3, "max |kernel − emulated| = \(worst)")
    }
}
