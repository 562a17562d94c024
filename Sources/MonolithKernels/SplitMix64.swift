/// A small, fast, seedable generator (SplitMix64, Steele, Lea and Flood 2014), for reproducible
/// sampling, and the home of its mixing function, which the rest of Monolith uses as a 64-bit
/// hash finalizer.
///
/// Output `k` (counting from 1) of a generator seeded with `s` is `mix(s &+ k &* increment)`, so
/// a stream position is one `UInt64` (``state``) and a counter-based draw needs no generator:
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let a = rng.next()                                       // the first draw
/// let b = SplitMix64.mix(42 &+ SplitMix64.increment)       // the same value, counter-based
/// let i = Int.random(in: 0..<10, using: &rng)              // any standard-library sampler
/// ```
///
/// Every stream and hash in the repository that is "SplitMix64" goes through this type; the values
/// are pinned by tests and fixtures (data sampling, dropout masks, dedup signatures), so neither
/// constant may change.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// Current state; saving it saves the stream position.
    public var state: UInt64

    /// Creates a generator from `seed`.
    @inlinable
    public init(seed: UInt64) { state = seed }

    /// The golden-ratio increment (⌊2⁶⁴/φ⌋, odd) added to the state before each draw.
    @inlinable
    public static var increment: UInt64 { 0x9E37_79B9_7F4A_7C15 }

    /// SplitMix64's finalizer (a variant of MurmurHash3's `fmix64`, Stafford's "Mix13"): a
    /// bijection of `UInt64` in which every input bit affects every output bit.
    @inlinable @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= SplitMix64.increment
        return SplitMix64.mix(state)
    }
}
