/// Inverted dropout whose mask is a pure function of `(seed, index)`.
///
/// No mask is stored: backward recomputes it from the same seed, which saves one activation-sized
/// buffer per dropout site and keeps runs deterministic regardless of thread count.
public struct Dropout: Sendable {
    /// Probability of zeroing an element.
    public let p: Float
    /// Per-site, per-step seed.
    public let seed: UInt64

    /// A dropout site with drop probability `p` and mask seed `seed`.
    public init(p: Float, seed: UInt64) { self.p = p; self.seed = seed }

    /// Whether this site does anything.
    @inlinable public var isActive: Bool { p > 0 }

    /// The multiplier for element `index`: 0 or 1/(1−p).
    @inlinable @inline(__always)
    public func scale(at index: Int) -> Float {
        let z = SplitMix64.mix(seed &+ UInt64(truncatingIfNeeded: index) &* SplitMix64.increment)
        let u = Float(z >> 40) * (1.0 / 16_777_216.0)
        return u < p ? 0 : 1 / (1 - p)
    }

    /// `x[i] *= scale(at: offset + i)` over `count` floats; the same call is its own backward.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int, offset: Int = 0, pool: WorkerPool = .shared) {
        guard isActive else { return }
        pool.parallelFor(count) { range in
            for i in range { x[i] *= scale(at: offset + i) }
        }
    }

    /// A derived seed for a (step, layer, site) triple, so every site draws an independent mask.
    public static func seed(base: UInt64, step: Int, layer: Int, site: Int) -> UInt64 {
        var z = base ^ (UInt64(step) &* 0xD1B5_4A32_D192_ED03)
        z ^= UInt64(layer &* 64 &+ site) &* 0x8CB9_2BA7_2F3D_8DD7
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        return z ^ (z >> 33)
    }
}
