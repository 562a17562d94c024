import MonolithKernels

/// MinHash signatures: `permutations` independent min-wise hashes of a set of shingle hashes.
///
/// Permutation `i` is `h_i(x) = (a_i·x + b_i) >> 32` over 64-bit words (a_i odd), a
/// multiply-add-shift family; on the already-mixed shingle hashes it is close enough to min-wise
/// independent that `P[min h_i(A) == min h_i(B)] ≈ J(A, B)`, and it vectorizes: eight lanes per
/// AVX-512 multiply, so 128 permutations of a shingle cost 16 vector multiply-adds.
public struct MinHash: Sendable {
    /// Number of permutations (signature length); a multiple of 8.
    public let permutations: Int
    private let a: [SIMD8<UInt64>]
    private let b: [SIMD8<UInt64>]

    /// A family of `permutations` hashes drawn from `seed`.
    public init(permutations: Int, seed: UInt64) {
        precondition(permutations > 0 && permutations % 8 == 0, "permutations must be a positive multiple of 8")
        self.permutations = permutations
        var rng = SplitMix64(seed: seed)
        func next() -> UInt64 { rng.next() }
        var a: [SIMD8<UInt64>] = [], b: [SIMD8<UInt64>] = []
        for _ in 0..<(permutations / 8) {
            var va = SIMD8<UInt64>(), vb = SIMD8<UInt64>()
            for l in 0..<8 { va[l] = next() | 1; vb[l] = next() }
            a.append(va); b.append(vb)
        }
        self.a = a
        self.b = b
    }

    /// Writes the signature of `shingles` to `out` (`permutations` values). An empty set gets all
    /// `UInt32.max`, which matches only other empty sets.
    public func signature(of shingles: [UInt64], into out: UnsafeMutablePointer<UInt32>) {
        let vectors = permutations / 8
        withUnsafeTemporaryAllocation(of: SIMD8<UInt64>.self, capacity: vectors) { mins in
            for v in 0..<vectors { mins[v] = SIMD8(repeating: UInt64(UInt32.max)) }
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for x in shingles {
                        let vx = SIMD8<UInt64>(repeating: x)
                        for v in 0..<vectors {
                            let h = (a[v] &* vx &+ b[v]) &>> 32
                            mins[v] = pointwiseMin(mins[v], h)
                        }
                    }
                }
            }
            for v in 0..<vectors { for l in 0..<8 { out[v * 8 + l] = UInt32(truncatingIfNeeded: mins[v][l]) } }
        }
    }

    /// The fraction of equal entries of two signatures: an unbiased estimate of Jaccard similarity.
    public static func estimatedJaccard(_ x: UnsafePointer<UInt32>, _ y: UnsafePointer<UInt32>, count: Int) -> Double {
        var equal = 0
        for i in 0..<count where x[i] == y[i] { equal += 1 }
        return Double(equal) / Double(count)
    }
}

/// Exact Jaccard similarity of two sets given as sorted arrays of distinct values.
public func exactJaccard(_ x: [UInt64], _ y: [UInt64]) -> Double {
    if x.isEmpty && y.isEmpty { return 1 }
    var i = 0, j = 0, common = 0
    while i < x.count && j < y.count {
        if x[i] == y[j] { common += 1; i += 1; j += 1 } else if x[i] < y[j] { i += 1 } else { j += 1 }
    }
    return Double(common) / Double(x.count + y.count - common)
}
