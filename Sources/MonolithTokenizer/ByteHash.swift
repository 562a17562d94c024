/// Hashing and comparison of short byte strings (pre-tokens average under 5 bytes).
///
/// Swift's `Dictionary<[UInt8], …>` allocates a key array and runs SipHash per lookup, which
/// alone would cost more than tiktoken spends per pre-token; these helpers read a key with at
/// most three unaligned loads and never touch bytes outside it.
enum ByteHash {
    @inline(__always)
    static func load64(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
    }

    @inline(__always)
    static func load32(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
    }

    /// A 64-bit hash of `p[0..<n]`, in the style of wyhash's small-key path.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                h = (h ^ load64(p + i)) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
                i += 8
            }
            h ^= load64(p + n - 8)
        } else if n >= 4 {
            h ^= (load32(p) << 32) | load32(p + n - 4)
        } else if n > 0 {
            h ^= (UInt64(p[0]) << 16) | (UInt64(p[n >> 1]) << 8) | UInt64(p[n - 1])
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// Whether `a[0..<n]` equals `b[0..<n]`.
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if load64(a + i) != load64(b + i) { return false }
                i += 8
            }
            return load64(a + n - 8) == load64(b + n - 8)
        }
        if n >= 4 { return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4) }
        var i = 0
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }
}
