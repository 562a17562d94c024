import MonolithKernels

/// A fast fingerprint of a weight buffer: FNV-1a over 64-bit words in eight interleaved lanes per
/// thread chunk (so it vectorises and splits across the pool), combined in chunk order. Not
/// cryptographic: it only has to tell two models apart for the log-likelihood cache, and it
/// reads 500 MB of GPT-2 weights in well under a second.
enum WeightHash {
    static let prime: UInt64 = 0x0000_0100_0000_01B3
    static let offset: UInt64 = 0xCBF2_9CE4_8422_2325

    /// The lanes' final states, as bytes (little-endian), for `count` floats at `base`.
    static func lanes(_ base: UnsafePointer<Float>, count: Int, pool: WorkerPool) -> [UInt8] {
        let words = count / 2
        let chunks = max(1, min(64, words / 65_536))
        var states = [SIMD8<UInt64>](repeating: SIMD8(repeating: offset), count: chunks)
        base.withMemoryRebound(to: UInt64.self, capacity: words) { w in
            states.withUnsafeMutableBufferPointer { out in
                pool.parallelFor(chunks) { range in
                    for c in range {
                        let r = WorkerPool.chunk(c, of: chunks, count: words / 8)
                        var h = SIMD8<UInt64>(repeating: offset &+ UInt64(c))
                        let p = SIMD8<UInt64>(repeating: prime)
                        for i in r {
                            let q = w + i * 8
                            h = (h ^ SIMD8(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7])) &* p
                        }
                        out[c] = h
                    }
                }
            }
        }
        var tail = SIMD8<UInt64>(repeating: offset)
        base.withMemoryRebound(to: UInt32.self, capacity: count) { b in
            for i in (words / 8 * 16)..<count { tail[i % 8] = (tail[i % 8] ^ UInt64(b[i])) &* prime }
        }
        var bytes: [UInt8] = []
        for h in states + [tail] {
            for lane in 0..<8 { for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: h[lane] >> UInt64(8 * k))) } }
        }
        return bytes
    }
}
