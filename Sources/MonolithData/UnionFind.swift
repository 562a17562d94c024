/// Disjoint sets over `0..<count` with path halving and union by size.
public struct UnionFind: Sendable {
    private var parent: [Int32]
    private var size: [Int32]

    /// `count` singleton sets.
    public init(count: Int) {
        parent = (0..<count).map { Int32($0) }
        size = [Int32](repeating: 1, count: count)
    }

    /// The representative of `x`'s set.
    public mutating func find(_ x: Int) -> Int {
        var x = Int32(x)
        while parent[Int(x)] != x {
            parent[Int(x)] = parent[Int(parent[Int(x)])]
            x = parent[Int(x)]
        }
        return Int(x)
    }

    /// Merges the sets of `x` and `y`; returns `false` if they were already one.
    @discardableResult
    public mutating func union(_ x: Int, _ y: Int) -> Bool {
        var rx = find(x), ry = find(y)
        if rx == ry { return false }
        if size[rx] < size[ry] { swap(&rx, &ry) }
        parent[ry] = Int32(rx)
        size[rx] += size[ry]
        return true
    }
}
