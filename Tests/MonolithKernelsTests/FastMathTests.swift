import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// `fastExp` accuracy against Foundation's Double `exp`, its clamping, and the unaligned
/// `load`/`store` helpers every SIMD kernel uses.
///
/// Softmax, cross-entropy and GELU all rest on `fastExp`; its error bound is a measured number (see
/// ``rangeAccuracy()``), asserted slightly above the measurement so that a coefficient typo or a
/// broken range reduction fails loudly while the real kernel passes with margin.
@Suite("FastMath")
struct FastMathTests {
    /// Relative error of `fastExp` against `exp` in Double, over `count` evenly spaced inputs in
    /// `range`, plus the worst input.
    static func worstRelativeError(in range: ClosedRange<Double>, count: Int) -> (error: Double, at: Float) {
        var worst = 0.0, worstAt: Float = 0
        var i = 0
        while i < count {
            var lanes = Vec()
            for l in 0..<vecWidth {
                lanes[l] = Float(range.lowerBound + (range.upperBound - range.lowerBound) * Double(min(i + l, count - 1)) / Double(count - 1))
            }
            let got = fastExp(lanes)
            for l in 0..<vecWidth {
                let ref = exp(Double(lanes[l]))
                let err = abs(Double(got[l]) - ref) / ref
                if !(err <= worst) { worst = err; worstAt = lanes[l] }
            }
            i += vecWidth
        }
        return (worst, worstAt)
    }

    /// Measured once exhaustively, over all 2.24·10⁹ Floats in [-87, 88]: worst relative error
    /// 2.307e-7, at x = −27.379168 (2.74 ulp of the result; the doc comment says "~2 ulp"). This
    /// sweep of 2²⁰ points stays fast and asserts a bound just above that.
    @Test("fastExp is within 2.5e-7 relative of exp over [-87, 88]")
    func rangeAccuracy() {
        let (error, at) = Self.worstRelativeError(in: -87...88, count: 1 << 20)
        #expect(error < 2.5e-7, "worst relative error \(error) at x = \(at)")
    }

    /// Softmax feeds `fastExp` arguments in [-30, 0] almost exclusively; a dense sweep there
    /// catches errors that the coarse full-range sweep could step over.
    @Test("fastExp is within 2.5e-7 relative of exp densely over [-30, 1]")
    func softmaxRangeAccuracy() {
        let (error, at) = Self.worstRelativeError(in: -30...1, count: 1 << 20)
        #expect(error < 2.5e-7, "worst relative error \(error) at x = \(at)")
    }

    @Test("fastExp is exact at 0 and clamps outside [-87, 88] instead of overflowing")
    func clamping() {
        #expect(fastExp(Float(0)) == 1)
        #expect(fastExp(Float(1000)) == fastExp(Float(88)))
        #expect(fastExp(Float(88)).isFinite)
        #expect(fastExp(Float(-1000)) == fastExp(Float(-87)))
        #expect(fastExp(Float(-87)) > 0 && fastExp(Float(-87)).isNormal)
        #expect(fastExp(-Float.infinity) == fastExp(Float(-87)))
    }

    @Test("scalar fastExp equals the vector version lane for lane")
    func scalarMatchesVector() {
        var g = SeededGenerator(seed: 90)
        let x = g.floats(vecWidth, in: -80...80)
        var lanes = Vec()
        for l in 0..<vecWidth { lanes[l] = x[l] }
        let v = fastExp(lanes)
        for l in 0..<vecWidth { #expect(fastExp(x[l]) == v[l]) }
    }

    @Test("load and store round-trip at unaligned addresses", arguments: [0, 1, 3, 15])
    func unalignedLoadStore(offset: Int) {
        var g = SeededGenerator(seed: 91)
        let source = g.floats(64)
        var destination = zeros(64)
        source.withUnsafeBufferPointer { s in
            destination.withUnsafeMutableBufferPointer { d in
                store(load(s.baseAddress! + offset), d.baseAddress! + offset + 1)
            }
        }
        #expect(Array(destination[offset + 1 ..< offset + 1 + vecWidth]) == Array(source[offset ..< offset + vecWidth]))
        #expect(destination[..<(offset + 1)].allSatisfy { $0 == 0 } && destination[(offset + 1 + vecWidth)...].allSatisfy { $0 == 0 })
    }
}
