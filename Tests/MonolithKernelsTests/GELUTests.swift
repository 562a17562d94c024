import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// Tanh-approximation GELU: forward against PyTorch's formula evaluated in Double, backward against
/// the analytic derivative and against finite differences.
///
/// The kernel does not evaluate the formula as written: it rewrites `0.5·x·(1 + tanh u)` as
/// `x·σ(2u)` and uses ``fastExp(_:)-(Vec)``, so its accuracy has to be measured, not assumed. Column
/// counts straddle the 16-lane width because the vector body and the scalar tail are separate code.
@Suite("GELU")
struct GELUTests {
    static let widths = [1, 13, 16, 40, 64, 77]

    /// `0.5·x·(1 + tanh(u))` with `u = √(2/π)·(x + 0.044715·x³)`, as `gelu(x, approximate="tanh")`,
    /// evaluated as the identical `x / (1 + e^(−2u))`: written literally, `1 + tanh(u)` cancels
    /// in Double for x < −6 (tanh u ≈ −1) and the reference would be less accurate than the kernel.
    /// ``referenceIsTheTanhFormula()`` checks the two forms agree where both are accurate.
    static func reference(_ x: Double) -> Double {
        x / (1 + exp(-2 * (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    static func referenceDerivative(_ x: Double) -> Double {
        let k = (2 / Double.pi).squareRoot()
        let th = tanh(k * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x)
    }

    static func sweep(_ range: ClosedRange<Double>, count: Int) -> [Float] {
        (0..<count).map { Float(range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(count - 1)) }
    }

    @Test("the Double reference equals the literal tanh formula")
    func referenceIsTheTanhFormula() {
        for x in stride(from: -5.0, through: 12.0, by: 0.01) {
            let literal = 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            #expect(abs(Self.reference(x) - literal) <= 1e-12 * max(1e-3, abs(literal)), "x = \(x)")
        }
    }

    /// Measured over every Float in [-12, 12] (a one-off exhaustive sweep): absolute error at most
    /// 1.25e-7·max(1, |x|) (about one ulp of the result), and relative error at most 1.96e-6 wherever
    /// |gelu(x)| > 1e-6. Further into the negative tail the relative error grows to ~1e-5 (the
    /// fp32 rounding of `u`, ≈ −40, is amplified by `e^(2u)`), on values below 1e-30.
    @Test("forward matches the tanh formula in Double over [-12, 12]")
    func forwardAccuracy() {
        let n = 48_001
        var x = Self.sweep(-12...12, count: n)
        var out = zeros(n)
        GELU.forward(output: &out, input: &x, bias: nil, rows: 1, cols: n)
        var worstAbs = 0.0, worstRel = 0.0
        for i in 0..<n {
            let ref = Self.reference(Double(x[i]))
            let err = abs(Double(out[i]) - ref)
            if !(err / max(1, abs(Double(x[i]))) <= worstAbs) { worstAbs = err / max(1, abs(Double(x[i]))) }
            if abs(ref) > 1e-6 { worstRel = max(worstRel, err / abs(ref)) }
        }
        #expect(worstAbs < 1.5e-7, "max |error| / max(1, |x|) = \(worstAbs)")
        #expect(worstRel < 2.5e-6, "max relative error where |gelu| > 1e-6: \(worstRel)")
    }

    /// Measured over every Float in [-12, 12]: at most 1.97e-6 absolute (near x = 5, where `1 − σ`
    /// has few significant bits left); the derivative is O(1) there.
    @Test("backward matches the analytic derivative over [-12, 12]")
    func derivativeAccuracy() {
        let n = 48_001
        let x = Self.sweep(-12...12, count: n)
        var dinput = zeros(n)
        GELU.backward(dinput: &dinput, doutput: [Float](repeating: 1, count: n), input: x, count: n)
        let worst = maxAbsDifference(dinput, x.map { Self.referenceDerivative(Double($0)) })
        #expect(worst < 2.5e-6, "max absolute error \(worst)")
    }

    /// The bias is folded into the pre-activation in place because backward needs exactly that
    /// tensor; a forward that only used the bias for the output would silently corrupt backward.
    @Test("forward with bias writes input += bias and output = gelu(input + bias)", arguments: widths)
    func forwardWithBias(cols: Int) {
        let rows = 3
        var g = SeededGenerator(seed: 10)
        let x0 = g.floats(rows * cols, in: -4...4), bias = g.floats(cols)
        var x = x0, out = zeros(rows * cols)
        GELU.forward(output: &out, input: &x, bias: bias, rows: rows, cols: cols, pool: TestPools.three)
        for r in 0..<rows {
            for j in 0..<cols {
                let i = r * cols + j
                #expect(x[i] == x0[i] + bias[j])
                #expect(abs(Double(out[i]) - Self.reference(Double(x0[i] + bias[j]))) < 1.5e-7 * max(1, abs(Double(x[i]))))
            }
        }
    }

    @Test("backward matches the analytic derivative at every width", arguments: widths)
    func backwardMatchesDerivative(count: Int) {
        var g = SeededGenerator(seed: 11)
        let x = g.floats(count, in: -6...6), dout = g.floats(count)
        var dinput = zeros(count)
        GELU.backward(dinput: &dinput, doutput: dout, input: x, count: count, pool: TestPools.three)
        let ref = (0..<count).map { Double(dout[$0]) * Self.referenceDerivative(Double(x[$0])) }
        #expect(maxAbsDifference(dinput, ref) < 2.5e-6)
    }

    @Test("backward matches finite differences", arguments: widths)
    func backwardMatchesFiniteDifferences(cols: Int) {
        let rows = 3, n = rows * cols
        var g = SeededGenerator(seed: 12)
        let x = g.floats(n, in: -5...5), w = g.floats(n)
        var dinput = zeros(n)
        GELU.backward(dinput: &dinput, doutput: w, input: x, count: n)
        let indices = Array(0..<n)
        let numeric = GradientCheck.numericGradient(of: x, at: indices) { probe in
            var input = probe, out = zeros(n)
            GELU.forward(output: &out, input: &input, bias: nil, rows: rows, cols: cols)
            return GradientCheck.weightedSum(out, w)
        }
        GradientCheck.expectMatch(analytic: dinput, numeric: numeric, at: indices, "dinput")
    }

    /// The model runs backward in place (`dinput` = `doutput`) to save a buffer, which the doc
    /// comment allows; a kernel that read `doutput` after writing `dinput` would break it.
    @Test("backward with dinput aliasing doutput", arguments: widths)
    func backwardInPlace(count: Int) {
        var g = SeededGenerator(seed: 13)
        let x = g.floats(count, in: -4...4), dout = g.floats(count)
        var separate = zeros(count)
        GELU.backward(dinput: &separate, doutput: dout, input: x, count: count, pool: TestPools.three)
        var inPlace = dout
        inPlace.withUnsafeMutableBufferPointer { p in
            GELU.backward(dinput: p.baseAddress!, doutput: p.baseAddress!, input: x, count: count,
                          pool: TestPools.three)
        }
        expectIdentical(inPlace, separate, "in-place backward")
    }
}
