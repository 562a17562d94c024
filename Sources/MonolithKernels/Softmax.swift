/// Numerically stable softmax over contiguous rows.
public enum Softmax {
    /// In-place `row = softmax(row[0..<count])`.
    @inlinable
    public static func row(_ row: UnsafeMutablePointer<Float>, count n: Int) {
        let m = max(of: row, count: n)
        let mv = Vec(repeating: m)
        var sum = Vec(), j = 0
        while j + vecWidth <= n { let e = fastExp(load(row + j) - mv); store(e, row + j); sum += e; j += vecWidth }
        var s = sum.sum()
        while j < n { let e = fastExp(row[j] - m); row[j] = e; s += e; j += 1 }
        let inv = 1 / s, iv = Vec(repeating: inv)
        j = 0
        while j + vecWidth <= n { store(load(row + j) * iv, row + j); j += vecWidth }
        while j < n { row[j] *= inv; j += 1 }
    }

    /// Maximum of `x[0..<n]` (−∞ when empty).
    @inlinable
    public static func max(of x: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = Vec(repeating: -.infinity), j = 0
        while j + vecWidth <= n {
            let v = load(x + j)
            acc.replace(with: v, where: v .> acc)
            j += vecWidth
        }
        var m = acc.max()
        while j < n { if x[j] > m { m = x[j] }; j += 1 }
        return m
    }

    /// `log Σ exp(x[0..<n])`, computed stably.
    @inlinable
    public static func logSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        let m = max(of: x, count: n)
        let mv = Vec(repeating: m)
        var sum = Vec(), j = 0
        while j + vecWidth <= n { sum += fastExp(load(x + j) - mv); j += vecWidth }
        var s = sum.sum()
        while j < n { s += fastExp(x[j] - m); j += 1 }
        return m + _log(s)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline func _log(_ x: Float) -> Float { logf(x) }
