/// Round-to-nearest-even fp32 → bf16 bits, as `torch.Tensor.to(torch.bfloat16)` (NaN stays NaN).
/// Shared by the packed decode weights and the safetensors writer, so both round identically.
@inlinable
public func bfloat16Bits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN { return UInt16(bits >> 16) | 0x40 }
    return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
}

/// bf16 weight matrices for decoding: half the bytes of fp32, so batch-1 decoding (bound by
/// reading every weight once per token) runs up to twice as fast. Arithmetic stays fp32.
///
/// Packing: each row is cut into blocks of 32 columns, and column `j + t` (t < 16) shares a 32-bit
/// word with column `j + 16 + t` — low half and high half. One 64-byte load then yields both
/// 16-lane halves with a shift and a mask, with no per-lane conversion instructions.
public final class BF16Matrix: @unchecked Sendable {
    /// Logical shape `[rows, cols]`; `cols` is a multiple of 32.
    public let rows: Int, cols: Int
    let words: UnsafeMutablePointer<UInt32>

    /// Whether a `[rows, cols]` matrix can be packed (its rows split into 32-column blocks).
    public static func canPack(cols: Int) -> Bool { cols % 32 == 0 && cols > 0 }

    /// Packs `source` (`[rows, cols]` fp32, row stride `ld`), rounding to nearest even.
    public init(_ source: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, pool: WorkerPool = .shared) {
        precondition(BF16Matrix.canPack(cols: cols))
        self.rows = rows; self.cols = cols
        words = .allocate(capacity: rows * cols / 2)
        let words = words
        pool.parallelFor(rows) { range in
            for r in range {
                let src = source + r * ld, dst = words + r * cols / 2
                for block in stride(from: 0, to: cols, by: 32) {
                    for t in 0..<16 {
                        let lo = UInt32(bfloat16Bits(src[block + t])), hi = UInt32(bfloat16Bits(src[block + 16 + t]))
                        dst[block / 2 + t] = lo | hi << 16
                    }
                }
            }
        }
    }

    deinit { words.deallocate() }

    /// Element `(r, c)` as fp32 (for tests).
    public subscript(r: Int, c: Int) -> Float {
        let block = c / 32 * 32, t = c % 32
        let word = words[r * cols / 2 + block / 2 + t % 16]
        return Float(bitPattern: t < 16 ? word << 16 : word & 0xFFFF_0000)
    }

    @inline(__always)
    static func halves(_ p: UnsafePointer<UInt32>) -> (Vec, Vec) {
        let w = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt32>.self)
        return (unsafeBitCast(w &<< 16, to: Vec.self), unsafeBitCast(w & 0xFFFF_0000, to: Vec.self))
    }

    /// `y[b, :] (+)= x[b, :] · W` for `rows` ≤ 4 input rows (`W` is this `[k, n]` matrix).
    public func rowsTimesMatrix(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows nb: Int,
                                accumulate: Bool, pool: WorkerPool = .shared) {
        precondition(nb >= 1 && nb <= 4)
        let k = rows, n = cols, words = words
        pool.parallelFor(n, alignment: 32) { range in
            for b in 0..<nb where !accumulate { (y + b * n + range.lowerBound).update(repeating: 0, count: range.count) }
            // Four weight rows per pass over y: y is loaded and stored once per four rows of W.
            var i = 0
            while i < k {
                let nr = min(4, k - i)
                let r0 = words + i * n / 2
                let r1 = nr > 1 ? r0 + n / 2 : r0, r2 = nr > 2 ? r1 + n / 2 : r0, r3 = nr > 3 ? r2 + n / 2 : r0
                for b in 0..<nb {
                    let xb = x + b * k + i, yb = y + b * n
                    let a0 = Vec(repeating: xb[0])
                    let a1 = Vec(repeating: nr > 1 ? xb[1] : 0), a2 = Vec(repeating: nr > 2 ? xb[2] : 0)
                    let a3 = Vec(repeating: nr > 3 ? xb[3] : 0)
                    var j = range.lowerBound
                    while j < range.upperBound {
                        let (l0, h0) = BF16Matrix.halves(r0 + j / 2), (l1, h1) = BF16Matrix.halves(r1 + j / 2)
                        let (l2, h2) = BF16Matrix.halves(r2 + j / 2), (l3, h3) = BF16Matrix.halves(r3 + j / 2)
                        var lo = load(yb + j).addingProduct(a0, l0), hi = load(yb + j + 16).addingProduct(a0, h0)
                        lo = lo.addingProduct(a1, l1); hi = hi.addingProduct(a1, h1)
                        lo = lo.addingProduct(a2, l2); hi = hi.addingProduct(a2, h2)
                        store(lo.addingProduct(a3, l3), yb + j); store(hi.addingProduct(a3, h3), yb + j + 16)
                        j += 32
                    }
                }
                i += nr
            }
        }
    }

    /// `y[b, r] = x[b, :] · W[r, :]` for every row `r` (`W` is this `[m, k]` matrix), `rows` ≤ 4.
    public func rowsTimesTransposed(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows nb: Int,
                                    pool: WorkerPool = .shared) {
        precondition(nb >= 1 && nb <= 4)
        let m = rows, k = cols, words = words
        pool.parallelFor(m) { range in
            for r in range {
                let row = words + r * k / 2
                for b in 0..<nb {
                    let xb = x + b * k
                    var acc0 = Vec(), acc1 = Vec(), j = 0
                    while j < k {
                        let (lo, hi) = BF16Matrix.halves(row + j / 2)
                        acc0 = acc0.addingProduct(load(xb + j), lo)
                        acc1 = acc1.addingProduct(load(xb + j + 16), hi)
                        j += 32
                    }
                    y[b * m + r] = (acc0 + acc1).sum()
                }
            }
        }
    }
}
