/// MT19937 exactly as CPython's `_random` module runs it, so that Monolith draws the same
/// few-shot examples and bootstrap resamples as lm-evaluation-harness (which uses Python's
/// `random.Random`).
///
/// Seeding from an integer follows `random_seed` in CPython's `_randommodule.c`: the absolute
/// value is split into 32-bit words, least significant first (zero gives one zero word), and fed
/// to `init_by_array`.
///
/// ```swift
/// var mt = MersenneTwister(seed: 1234)
/// mt.random()          // 0.9664535356921388, as random.Random(1234).random()
/// ```
public struct MersenneTwister: Sendable {
    static let n = 624, m = 397
    var state = [UInt32](repeating: 0, count: 624)
    var index = 625

    /// A generator seeded as `random.Random(seed)`.
    public init(seed: Int) {
        var magnitude = seed.magnitude
        var key: [UInt32] = []
        repeat {
            key.append(UInt32(truncatingIfNeeded: magnitude))
            magnitude >>= 32
        } while magnitude != 0
        initByArray(key)
    }

    mutating func initGenrand(_ s: UInt32) {
        state[0] = s
        for i in 1..<Self.n {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        index = Self.n
    }

    mutating func initByArray(_ key: [UInt32]) {
        initGenrand(19_650_218)
        var i = 1, j = 0
        let n = Self.n
        for _ in 0..<max(n, key.count) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= n { state[0] = state[n - 1]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<(n - 1) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= n { state[0] = state[n - 1]; i = 1 }
        }
        state[0] = 0x8000_0000
        index = n
    }

    /// The next 32 random bits (`genrand_uint32`).
    public mutating func nextUInt32() -> UInt32 {
        let n = Self.n, m = Self.m
        if index >= n {
            state.withUnsafeMutableBufferPointer { mt in
                func twist(_ k: Int, _ next: Int, _ far: Int) {
                    let y = (mt[k] & 0x8000_0000) | (mt[next] & 0x7FFF_FFFF)
                    mt[k] = mt[far] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_B0DF)
                }
                for k in 0..<(n - m) { twist(k, k + 1, k + m) }
                for k in (n - m)..<(n - 1) { twist(k, k + 1, k + m - n) }
                twist(n - 1, 0, m - 1)
            }
            index = 0
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A double in [0, 1) with 53 random bits (`random.random()`, `genrand_res53`).
    public mutating func random() -> Double {
        let a = nextUInt32() >> 5, b = nextUInt32() >> 6
        return (Double(a) * 67_108_864.0 + Double(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(k)` for `k` in 0...64: words are drawn least significant first, and
    /// the last one keeps its top bits.
    public mutating func getrandbits(_ k: Int) -> UInt64 {
        precondition((0...64).contains(k), "getrandbits supports 0...64 bits here")
        if k == 0 { return 0 }
        if k <= 32 { return UInt64(nextUInt32() >> (32 - k)) }
        let low = UInt64(nextUInt32())
        let high = UInt64(nextUInt32() >> (64 - k))
        return low | high << 32
    }
}
