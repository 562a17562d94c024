import MonolithKernels
import MonolithTestSupport
import Testing

/// LayerNorm forward against a Double reference, backward against finite differences.
///
/// Every row runs a 16-lane vector body and a scalar tail that restate the same formula, so the
/// channel counts straddle the SIMD width (3, 13, 40, 77 have tails; 16 and 64 have none): a
/// mistake in only one of the two shows up only for some widths. Backward sums weight and bias
/// gradients in per-thread scratch and reduces them at the end, so it runs on the serial pool and
/// on the three-thread pool, whose chunks are uneven.
@Suite("LayerNorm")
struct LayerNormTests {
    static let shapes = [(1, 3), (5, 13), (4, 16), (3, 40), (7, 64), (2, 77)]

    @Test("forward, mean and rstd match a Double reference", arguments: shapes)
    func forwardMatchesReference(rows: Int, channels: Int) {
        let problem = LayerNormProblem(rows: rows, channels: channels, seed: 1)
        let (out, mean, rstd) = problem.forward(pool: .shared)
        var refOut = [Double](), refMean = [Double](), refRstd = [Double]()
        for r in 0..<rows {
            let x = problem.x[r * channels ..< (r + 1) * channels].map(Double.init)
            let m = x.reduce(0, +) / Double(channels)
            let variance = x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(channels)
            let rs = 1 / (variance + Double(problem.eps)).squareRoot()
            refMean.append(m); refRstd.append(rs)
            for j in 0..<channels {
                refOut.append((x[j] - m) * rs * Double(problem.weight[j]) + Double(problem.bias[j]))
            }
        }
        // Measured: 3.7e-7, 8e-8 and 1e-7 at worst (outputs and rstd are O(1)).
        #expect(maxAbsDifference(out, refOut) < 1e-6)
        #expect(maxAbsDifference(mean, refMean) < 5e-7)
        #expect(maxAbsDifference(rstd, refRstd) < 1e-6)
    }

    @Test("backward matches finite differences", arguments: shapes, [1, 3])
    func backwardMatchesFiniteDifferences(shape: (Int, Int), threads: Int) {
        let (rows, channels) = shape
        let pool = TestPools.pool(threads: threads)
        let problem = LayerNormProblem(rows: rows, channels: channels, seed: 2)
        var generator = SeededGenerator(seed: 3)
        let w = generator.floats(rows * channels)
        let grads = problem.backward(doutput: w, pool: pool)

        func loss(x: [Float]? = nil, weight: [Float]? = nil, bias: [Float]? = nil) -> Double {
            GradientCheck.weightedSum(problem.forward(x: x, weight: weight, bias: bias, pool: pool).out, w)
        }
        let xi = Array(problem.x.indices), ci = Array(0..<channels)
        GradientCheck.expectMatch(
            analytic: grads.dinput,
            numeric: GradientCheck.numericGradient(of: problem.x, at: xi) { loss(x: $0) }, at: xi, "dinput")
        GradientCheck.expectMatch(
            analytic: grads.dweight,
            numeric: GradientCheck.numericGradient(of: problem.weight, at: ci) { loss(weight: $0) }, at: ci, "dweight")
        GradientCheck.expectMatch(
            analytic: grads.dbias,
            numeric: GradientCheck.numericGradient(of: problem.bias, at: ci) { loss(bias: $0) }, at: ci, "dbias")
    }

    /// Callers sum gradients from several uses of a tensor (residual branches, micro-batches), so
    /// backward must add into its outputs rather than overwrite them.
    @Test("backward accumulates into dinput, dweight and dbias")
    func backwardAccumulates() {
        let problem = LayerNormProblem(rows: 6, channels: 40, seed: 4)
        var generator = SeededGenerator(seed: 5)
        let w = generator.floats(6 * 40)
        let once = problem.backward(doutput: w, pool: TestPools.three)
        let twice = problem.backward(doutput: w, pool: TestPools.three, repeats: 2)
        for (a, b) in [(once.dinput, twice.dinput), (once.dweight, twice.dweight), (once.dbias, twice.dbias)] {
            #expect(maxAbsDifference(b, a.map { 2 * Double($0) }) < 1e-5)
        }
    }
}

/// One LayerNorm instance with random inputs and non-trivial affine parameters.
private struct LayerNormProblem {
    let rows: Int, channels: Int
    let eps: Float = 1e-5
    var x: [Float], weight: [Float], bias: [Float]

    init(rows: Int, channels: Int, seed: UInt64) {
        self.rows = rows; self.channels = channels
        var g = SeededGenerator(seed: seed)
        x = g.floats(rows * channels, in: -2...2)
        weight = g.floats(channels, in: 0.5...1.5)
        bias = g.floats(channels, in: -0.5...0.5)
    }

    func forward(x: [Float]? = nil, weight: [Float]? = nil, bias: [Float]? = nil,
                 pool: WorkerPool) -> (out: [Float], mean: [Float], rstd: [Float]) {
        var out = zeros(rows * channels), mean = zeros(rows), rstd = zeros(rows)
        LayerNorm.forward(output: &out, mean: &mean, rstd: &rstd, input: x ?? self.x,
                          weight: weight ?? self.weight, bias: bias ?? self.bias,
                          rows: rows, channels: channels, eps: eps, pool: pool)
        return (out, mean, rstd)
    }

    /// Runs backward `repeats` times into the same zero-initialized gradient buffers.
    func backward(doutput: [Float], pool: WorkerPool,
                  repeats: Int = 1) -> (dinput: [Float], dweight: [Float], dbias: [Float]) {
        let (_, mean, rstd) = forward(pool: pool)
        var dinput = zeros(rows * channels), dweight = zeros(channels), dbias = zeros(channels)
        var scratch = zeros(LayerNorm.scratchCount(channels: channels, pool: pool))
        for _ in 0..<repeats {
            LayerNorm.backward(dinput: &dinput, dweight: &dweight, dbias: &dbias, doutput: doutput,
                               input: x, weight: weight, mean: mean, rstd: rstd,
                               rows: rows, channels: channels, scratch: &scratch, pool: pool)
        }
        return (dinput, dweight, dbias)
    }
}
