/// The number format of a training run's matrix products and of the activations they save.
///
/// As in PyTorch autocast and Megatron: with `bf16` or `fp16`, GEMM operands are rounded to the
/// 16-bit format (round-to-nearest-even) and every product is accumulated in fp32; norm
/// statistics, softmax, the loss, gradient reduction and the optimizer stay fp32, and so do the
/// master weights and both Adam moments.
public enum Precision: String, Codable, Sendable, CaseIterable {
    /// Everything in fp32 (the default; results as before mixed precision existed).
    case fp32
    /// bfloat16 operands: fp32's 8-bit exponent with an 8-bit significand.
    case bf16
    /// IEEE half operands: a 5-bit exponent (largest finite value 65504) and an 11-bit
    /// significand, so training needs dynamic loss scaling.
    case fp16

    /// Whether GEMM operands are rounded (anything but fp32).
    public var isReduced: Bool { self != .fp32 }

    /// Rounds `count` floats in place to the nearest value of this format (fp32: nothing).
    /// Past the format's range a value becomes an infinity, as a hardware conversion makes it.
    public func round(_ x: UnsafeMutablePointer<Float>, count: Int, pool: WorkerPool = .shared) {
        switch self {
        case .fp32: return
        case .bf16:
            pool.parallelFor(count, alignment: 64) { r in Self.roundBF16(x + r.lowerBound, count: r.count) }
        case .fp16:
            pool.parallelFor(count, alignment: 64) { r in
                for i in r { x[i] = Float(Float16(x[i])) }
            }
        }
    }

    /// bf16 round-to-nearest-even on fp32 bit patterns, 16 lanes at a time; NaN stays a quiet NaN.
    static func roundBF16(_ x: UnsafeMutablePointer<Float>, count: Int) {
        typealias U = SIMD16<UInt32>
        var i = 0
        x.withMemoryRebound(to: UInt32.self, capacity: count) { u in
            while i + 16 <= count {
                let v = UnsafeRawPointer(u + i).loadUnaligned(as: U.self)
                UnsafeMutableRawPointer(u + i).storeBytes(of: roundedBits(v), as: U.self)
                i += 16
            }
            while i < count { u[i] = roundedBits(U(repeating: u[i]))[0]; i += 1 }
        }
    }

    @inline(__always)
    static func roundedBits(_ v: SIMD16<UInt32>) -> SIMD16<UInt32> {
        let high = SIMD16<UInt32>(repeating: 0xffff_0000)
        let rounded = (v &+ 0x7fff &+ ((v &>> 16) & 1)) & high
        let nan = (v & 0x7fff_ffff) .> 0x7f80_0000
        return rounded.replacing(with: (v | 0x0040_0000) & high, where: nan)
    }

    /// One value rounded to this format.
    public func rounded(_ x: Float) -> Float {
        var v = x
        round(&v, count: 1, pool: .serial)
        return v
    }
}
