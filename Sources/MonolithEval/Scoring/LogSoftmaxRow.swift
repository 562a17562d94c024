import MonolithKernels

/// One row of next-token logits reduced to what scoring needs: its log-sum-exp and its argmax
/// (the first maximal index, as `torch.argmax`).
public enum LogSoftmaxRow {
    /// `(log Σ exp(row), argmax)` over `count` logits. Exponentials run 16 lanes at a time; lane
    /// sums are carried into a double every 1024 values, so the sum's rounding stays far below
    /// the 1e-4 parity tolerance even for a 50k vocabulary.
    @inlinable
    public static func reduce(_ row: UnsafePointer<Float>, count n: Int) -> (logSumExp: Double, argmax: Int) {
        // Softmax.max keeps its accumulator in vector registers (a pointwiseMax accumulator
        // was split into per-lane spills: 8 ns per element instead of a fraction of one).
        let m = Softmax.max(of: row, count: n)
        let mv = Vec(repeating: m)
        var j = 0
        while j + vecWidth <= n, !any(load(row + j) .== mv) { j += vecWidth }
        var argmax = j
        while argmax < n - 1, row[argmax] != m { argmax += 1 }
        let shift = Vec(repeating: m)
        var total = 0.0
        j = 0
        while j + vecWidth <= n {
            var acc = Vec()
            let end = min(n - (n - j) % vecWidth, j + 1024)
            while j < end { acc += fastExp(load(row + j) - shift); j += vecWidth }
            total += Double(acc.sum())
        }
        while j < n { total += Double(fastExp(row[j] - m)); j += 1 }
        return (Double(m) + _logDouble(total), argmax)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline func _logDouble(_ x: Double) -> Double { log(x) }
