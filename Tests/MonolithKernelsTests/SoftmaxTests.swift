import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// Row softmax, row maximum and log-sum-exp against Double references.
///
/// These are the building blocks of attention and cross-entropy, whose backward checks would
/// blame themselves for an error here. Large offsets (±1000) pin the max-subtraction that keeps
/// `exp` from overflowing; widths straddle the SIMD width for the vector-body/scalar-tail split.
@Suite("Softmax")
struct SoftmaxTests {
    static let widths = [1, 2, 13, 16, 17, 40, 64, 77]

    @Test("row matches a Double softmax, also with a ±1000 offset", arguments: widths, [0, 1000, -1000] as [Float])
    func rowMatchesReference(count: Int, offset: Float) {
        var g = SeededGenerator(seed: UInt64(20 + count))
        let x = g.floats(count, in: -8...8).map { $0 + offset }
        var row = x
        Softmax.row(&row, count: count)
        let m = x.map(Double.init).max()!
        let e = x.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        #expect(maxAbsDifference(row, e.map { $0 / s }) < 1e-6)
        #expect(abs(row.reduce(0, +) - 1) < 1e-5)
    }

    /// A row spanning more than `exp`'s range only works if the maximum really is subtracted
    /// (subtracting anything smaller overflows); small spreads would hide a wrong maximum.
    @Test("row spanning [-100, 100] matches Double", arguments: widths)
    func rowWithWideSpread(count: Int) {
        var g = SeededGenerator(seed: UInt64(25 + count))
        var row = g.floats(count, in: -100...100)
        let x = row
        Softmax.row(&row, count: count)
        let m = x.map(Double.init).max()!
        let e = x.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        #expect(maxAbsDifference(row, e.map { $0 / s }) < 1e-6)
    }

    @Test("max finds the largest element wherever it sits", arguments: widths)
    func maxFindsLargest(count: Int) {
        var g = SeededGenerator(seed: 30)
        for position in 0..<count {
            var x = g.floats(count, in: -10...(-1))
            x[position] = 3
            #expect(Softmax.max(of: x, count: count) == 3)
        }
    }

    @Test("max of an empty row is -infinity")
    func maxOfEmpty() {
        let x: [Float] = [1]
        #expect(Softmax.max(of: x, count: 0) == -.infinity)
    }

    @Test("logSumExp matches Double", arguments: widths, [0, 500, -500] as [Float])
    func logSumExpMatchesReference(count: Int, offset: Float) {
        var g = SeededGenerator(seed: UInt64(40 + count))
        let x = g.floats(count, in: -8...8).map { $0 + offset }
        let m = x.map(Double.init).max()!
        let ref = m + log(x.map { exp(Double($0) - m) }.reduce(0, +))
        let got = Softmax.logSumExp(x, count: count)
        #expect(abs(Double(got) - ref) <= 1e-6 * max(1, abs(ref)), "\(got) vs \(ref)")
    }
}
