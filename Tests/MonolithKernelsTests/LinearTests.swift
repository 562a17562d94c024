import MonolithKernels
import MonolithTestSupport
import Testing

/// The four transpose combinations of a row-major GEMM.
enum Transpose: String, CaseIterable, Sendable {
    case nn, nt, tn, tt
    var a: Bool { self == .tn || self == .tt }
    var b: Bool { self == .nt || self == .tt }
}

/// `gemm` against a naive triple loop, and the Linear layer against finite differences.
///
/// `gemm` splits the output across the pool by columns when `n ≥ m` and by rows otherwise, and
/// each half offsets `A`, `B` or `C` differently for each transpose, so every transpose runs on
/// both a wide and a tall shape, large enough (`m·n·k ≥ 2¹⁸`) for the split to happen, on the
/// three-thread pool. Leading dimensions are padded past the logical width so that an offset
/// computed with the width instead of the leading dimension is caught, and `C`'s padding is
/// checked untouched.
@Suite("Linear and gemm")
struct LinearTests {
    static let gemmShapes = [(m: 70, n: 200, k: 33), (m: 200, n: 70, k: 33), (m: 130, n: 129, k: 17), (m: 5, n: 7, k: 3)]

    @Test("gemm matches a naive triple loop", arguments: Transpose.allCases, gemmShapes)
    func gemmMatchesNaive(transpose: Transpose, shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = shape
        for pool in [TestPools.three, WorkerPool.serial] {
            for (alpha, beta) in [(1, 0), (0.5, 1)] as [(Float, Float)] {
                checkGemm(transpose: transpose, m: m, n: n, k: k, alpha: alpha, beta: beta, pool: pool)
            }
        }
    }

    private func checkGemm(transpose: Transpose, m: Int, n: Int, k: Int, alpha: Float, beta: Float, pool: WorkerPool) {
        var g = SeededGenerator(seed: UInt64(m * 1000 + n))
        let aRows = transpose.a ? k : m, aCols = transpose.a ? m : k
        let bRows = transpose.b ? n : k, bCols = transpose.b ? k : n
        let lda = aCols + 3, ldb = bCols + 5, ldc = n + 2
        let a = g.floats(aRows * lda), b = g.floats(bRows * ldb)
        let c0 = g.floats(m * ldc)
        var c = c0
        gemm(transA: transpose.a, transB: transpose.b, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
             b: b, ldb: ldb, beta: beta, c: &c, ldc: ldc, pool: pool)
        var worst = 0.0, paddingIntact = true
        for i in 0..<m {
            for j in 0..<n {
                var dot = 0.0
                for p in 0..<k {
                    let av = transpose.a ? a[p * lda + i] : a[i * lda + p]
                    let bv = transpose.b ? b[j * ldb + p] : b[p * ldb + j]
                    dot += Double(av) * Double(bv)
                }
                let ref = Double(alpha) * dot + Double(beta) * Double(c0[i * ldc + j])
                let err = abs(Double(c[i * ldc + j]) - ref)
                worst = err.isNaN ? .infinity : max(worst, err)
            }
            for j in n..<ldc where c[i * ldc + j] != c0[i * ldc + j] { paddingIntact = false }
        }
        // Measured: at most 1.8e-6 over these shapes (k ≤ 33, entries in [-1, 1]).
        #expect(worst < 1e-5, "\(transpose) m\(m) n\(n) k\(k) alpha \(alpha) beta \(beta) threads \(pool.threadCount): max error \(worst)")
        #expect(paddingIntact, "\(transpose) m\(m) n\(n) k\(k): wrote into C's padding")
    }

    static let linearShapes = [(rows: 5, inFeatures: 13, outFeatures: 40), (rows: 17, inFeatures: 64, outFeatures: 13),
                               (rows: 3, inFeatures: 16, outFeatures: 16), (rows: 70, inFeatures: 40, outFeatures: 130)]

    @Test("backward matches finite differences", arguments: linearShapes)
    func backwardMatchesFiniteDifferences(rows: Int, inFeatures: Int, outFeatures: Int) {
        let problem = LinearProblem(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, seed: 80)
        var g = SeededGenerator(seed: 81)
        let w = g.floats(rows * outFeatures)
        let grads = problem.backward(doutput: w)

        func loss(x: [Float]? = nil, weight: [Float]? = nil, bias: [Float]? = nil) -> Double {
            GradientCheck.weightedSum(problem.forward(x: x, weight: weight, bias: bias), w)
        }
        // The layer is linear in each argument, so the step can be large without truncation
        // error; a large step keeps fp32 rounding of the sums out of the quotient.
        let step: Float = 0.25
        let xi = GradientCheck.sampleIndices(80, below: problem.x.count, using: &g)
        let wi = GradientCheck.sampleIndices(80, below: problem.weight.count, using: &g)
        let bi = Array(0..<outFeatures)
        GradientCheck.expectMatch(
            analytic: grads.dinput,
            numeric: GradientCheck.numericGradient(of: problem.x, at: xi, step: step) { loss(x: $0) },
            at: xi, "dinput")
        GradientCheck.expectMatch(
            analytic: grads.dweight,
            numeric: GradientCheck.numericGradient(of: problem.weight, at: wi, step: step) { loss(weight: $0) },
            at: wi, "dweight")
        GradientCheck.expectMatch(
            analytic: grads.dbias,
            numeric: GradientCheck.numericGradient(of: problem.bias, at: bi, step: step) { loss(bias: $0) },
            at: bi, "dbias")
    }

    /// The accumulate flags are how tensor-parallel shards and residual branches sum partial
    /// results; each must add exactly the plain result onto what is there.
    @Test("accumulate flags add onto existing outputs and gradients", arguments: linearShapes)
    func accumulateFlags(rows: Int, inFeatures: Int, outFeatures: Int) {
        let problem = LinearProblem(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, seed: 82)
        var g = SeededGenerator(seed: 83)
        let w = g.floats(rows * outFeatures)
        let tolerance = 1e-5

        let plain = problem.forward()
        let existing = g.floats(rows * outFeatures)
        var out = existing
        Linear.forward(output: &out, input: problem.x, weight: problem.weight, bias: problem.bias, rows: rows,
                       inFeatures: inFeatures, outFeatures: outFeatures, accumulate: true, pool: TestPools.three)
        #expect(maxAbsDifference(out, zip(existing, plain).map { Double($0) + Double($1) }) < tolerance)

        var noBias = zeros(rows * outFeatures)
        Linear.forward(output: &noBias, input: problem.x, weight: problem.weight, bias: nil, rows: rows,
                       inFeatures: inFeatures, outFeatures: outFeatures, pool: TestPools.three)
        let withoutBias = (0..<rows * outFeatures).map { Double(plain[$0]) - Double(problem.bias[$0 % outFeatures]) }
        #expect(maxAbsDifference(noBias, withoutBias) < tolerance)

        let fresh = problem.backward(doutput: w)
        let dinput0 = g.floats(problem.x.count), dweight0 = g.floats(problem.weight.count), dbias0 = g.floats(outFeatures)
        var dinput = dinput0, dweight = dweight0, dbias = dbias0
        Linear.backward(dinput: &dinput, dweight: &dweight, dbias: &dbias, doutput: w, input: problem.x,
                        weight: problem.weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                        accumulateInput: true, pool: TestPools.three)
        func sum(_ a: [Float], _ b: [Float]) -> [Double] { zip(a, b).map { Double($0) + Double($1) } }
        #expect(maxAbsDifference(dinput, sum(dinput0, fresh.dinput)) < tolerance)
        #expect(maxAbsDifference(dweight, sum(dweight0, fresh.dweight)) < tolerance)
        #expect(maxAbsDifference(dbias, sum(dbias0, fresh.dbias)) < tolerance)
    }
}

/// A Conv1D-layout linear layer (`W` is `[in, out]`) with random parameters.
private struct LinearProblem {
    let rows: Int, inFeatures: Int, outFeatures: Int
    let x: [Float], weight: [Float], bias: [Float]

    init(rows: Int, inFeatures: Int, outFeatures: Int, seed: UInt64) {
        self.rows = rows; self.inFeatures = inFeatures; self.outFeatures = outFeatures
        var g = SeededGenerator(seed: seed)
        x = g.floats(rows * inFeatures)
        weight = g.floats(inFeatures * outFeatures)
        bias = g.floats(outFeatures)
    }

    func forward(x: [Float]? = nil, weight: [Float]? = nil, bias: [Float]? = nil) -> [Float] {
        var out = zeros(rows * outFeatures)
        Linear.forward(output: &out, input: x ?? self.x, weight: weight ?? self.weight, bias: bias ?? self.bias,
                       rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, pool: TestPools.three)
        return out
    }

    /// Gradients into zeroed buffers (`dweight` and `dbias` always accumulate).
    func backward(doutput: [Float]) -> (dinput: [Float], dweight: [Float], dbias: [Float]) {
        var dinput = [Float](repeating: 9, count: x.count)  // overwritten without accumulateInput
        var dweight = zeros(weight.count), dbias = zeros(outFeatures)
        Linear.backward(dinput: &dinput, dweight: &dweight, dbias: &dbias, doutput: doutput, input: x,
                        weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                        pool: TestPools.three)
        return (dinput, dweight, dbias)
    }
}
