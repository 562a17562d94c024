import MonolithKernels
import MonolithTestSupport
import Testing

/// The residual-stream helpers: bias pre-fill, elementwise add, and column sums (the bias
/// gradient).
///
/// All three are exact in fp32 up to summation order, so they are compared with plain Float
/// references. `add` splits its range at multiples of 16 and `accumulateColumnSums` splits columns,
/// so both run on the three-thread pool with lengths that leave a tail in some thread's chunk.
@Suite("Residual")
struct ResidualTests {
    static let widths = [1, 13, 16, 17, 40, 77]

    @Test("copyAddingBias writes input + bias, or the bias alone", arguments: widths)
    func copyAddingBias(cols: Int) {
        let rows = 5
        var g = SeededGenerator(seed: 140)
        let x = g.floats(rows * cols), bias = g.floats(cols)
        var withInput = zeros(rows * cols), biasOnly = zeros(rows * cols)
        Residual.copyAddingBias(output: &withInput, input: x, bias: bias, rows: rows, cols: cols, pool: TestPools.three)
        Residual.copyAddingBias(output: &biasOnly, input: nil, bias: bias, rows: rows, cols: cols, pool: TestPools.three)
        expectIdentical(withInput, (0..<rows * cols).map { x[$0] + bias[$0 % cols] }, "input + bias")
        expectIdentical(biasOnly, (0..<rows * cols).map { bias[$0 % cols] }, "bias only")
    }

    @Test("add is elementwise, also in place", arguments: [1, 15, 16, 17, 100, 1000])
    func add(count: Int) {
        var g = SeededGenerator(seed: 141)
        let a = g.floats(count), b = g.floats(count)
        var out = zeros(count)
        Residual.add(output: &out, a, b, count: count, pool: TestPools.three)
        expectIdentical(out, zip(a, b).map { $0 + $1 }, "a + b")
        var inPlace = a
        inPlace.withUnsafeMutableBufferPointer { p in
            Residual.add(output: p.baseAddress!, p.baseAddress!, b, count: count, pool: TestPools.three)
        }
        expectIdentical(inPlace, out, "in-place a + b")
    }

    /// This is the bias gradient of every linear layer; it must add onto `dbias` (gradient
    /// accumulation across micro-batches) and sum every row.
    @Test("accumulateColumnSums adds each column's sum onto dbias", arguments: widths)
    func columnSums(cols: Int) {
        let rows = 9
        var g = SeededGenerator(seed: 142)
        let dout = g.floats(rows * cols), start = g.floats(cols)
        var dbias = start
        Residual.accumulateColumnSums(&dbias, dout, rows: rows, cols: cols, pool: TestPools.three)
        let ref = (0..<cols).map { j in Double(start[j]) + (0..<rows).reduce(0.0) { $0 + Double(dout[$1 * cols + j]) } }
        #expect(maxAbsDifference(dbias, ref) < 1e-5)
    }
}
