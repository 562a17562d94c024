/// The Mersenne Twister of NumPy's legacy `numpy.random.RandomState(seed)`, with its `shuffle`.
///
/// Megatron shuffles its document and sample indices with `RandomState(config.random_seed)`;
/// reproducing the generator bit for bit is what makes Monolith's GPT dataset yield the same
/// samples in the same order as megatron-core for the same seed. Seeding is MT19937's
/// `init_genrand` (NumPy's `_legacy_seeding` for an integer seed); `shuffle` of a 1-D array is
/// Fisher–Yates from the last element down, drawing `j ≤ i` by masked rejection
/// (`random_interval`: the smallest all-ones mask covering `i`, redraw while above `i`).
public struct NumpyRandomState: Sendable {
    private var state: [UInt32]
    private var position: Int

    /// Seeds as `numpy.random.RandomState(seed)` does for an integer in `0..<2³²`.
    public init(seed: UInt32) {
        state = [UInt32](repeating: 0, count: 624)
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        position = 624
    }

    /// The next 32-bit output (NumPy's `next_uint32` for MT19937).
    public mutating func nextUInt32() -> UInt32 {
        if position == 624 { regenerate() }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A uniform integer in `0...max` (NumPy's `random_interval`). Indices above 2³² − 1 draw
    /// 64 bits (two outputs, high word first, as NumPy's `next_uint64` for MT19937).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4
        mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32
        if max <= 0xFFFF_FFFF {
            while true {
                let v = UInt64(nextUInt32()) & mask
                if v <= max { return v }
            }
        }
        while true {
            let hi = UInt64(nextUInt32()), lo = UInt64(nextUInt32())
            let v = ((hi << 32) | lo) & mask
            if v <= max { return v }
        }
    }

    /// Shuffles in place exactly as `RandomState.shuffle` does a 1-D NumPy array.
    public mutating func shuffle<T>(_ array: inout [T]) {
        if array.count < 2 { return }
        array.withUnsafeMutableBufferPointer { a in
            var i = a.count - 1
            while i >= 1 {
                let j = Int(interval(UInt64(i)))
                a.swapAt(i, j)
                i -= 1
            }
        }
    }

    private mutating func regenerate() {
        state.withUnsafeMutableBufferPointer { mt in
            for i in 0..<624 {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7FFF_FFFF)
                var v = mt[(i + 397) % 624] ^ (y >> 1)
                if y & 1 != 0 { v ^= 0x9908_B0DF }
                mt[i] = v
            }
        }
        position = 0
    }
}
