/// IEEE half precision (fp16) and bfloat16 ↔ `Float` conversions, bit for bit as gguf-py
/// computes them (NumPy's `astype(float16)` / `astype(float32)` and gguf-py's `BF16` codec).
///
/// Written on bit patterns rather than with Swift's `Float16`: that type is missing on some
/// platforms, and hardware conversion (`vcvtps2ph`) quiets signalling NaNs where NumPy keeps the
/// payload, so results would differ from the reference in the NaN bits.
///
/// ```swift
/// HalfPrecision.float(fromHalf: 0x3C00)        // 1.0
/// HalfPrecision.half(from: 65520)              // 0x7C00 (rounds to +inf)
/// HalfPrecision.bfloat16(from: 1 + 0x1p-8)     // 0x3F80 (tie, rounds to even)
/// ```
public enum HalfPrecision {
    /// The `Float` equal to fp16 bits `h`: exact for every value; NaN payloads are kept (shifted
    /// into the top of the float payload, not quieted), as NumPy does.
    @inlinable @inline(__always)
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = h & 0x7C00, mantissa = UInt32(h & 0x03FF)
        if exponent == 0x7C00 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        if exponent != 0 { return Float(bitPattern: sign | (UInt32(h & 0x7FFF) << 13 &+ 0x3800_0000)) }
        // Zero or subnormal: mantissa × 2⁻²⁴ is exact in Float.
        let magnitude = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    }

    /// fp16 bits of `x`, rounded to nearest even; overflow gives ±inf, underflow ±0 or a
    /// subnormal. A NaN keeps its sign and the top 10 payload bits, and stays a NaN when those are
    /// all zero (NumPy's `npy_floatbits_to_halfbits`).
    @inlinable
    public static func half(from x: Float) -> UInt16 {
        let f = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (f & 0x8000_0000) >> 16)
        let exponent = f & 0x7F80_0000
        if exponent >= 0x4780_0000 {                       // |x| ≥ 65536, inf or NaN
            if exponent == 0x7F80_0000, f & 0x007F_FFFF != 0 {
                var payload = UInt16(truncatingIfNeeded: 0x7C00 + ((f & 0x007F_FFFF) >> 13))
                if payload == 0x7C00 { payload += 1 }
                return sign | payload
            }
            return sign | 0x7C00
        }
        if exponent <= 0x3800_0000 {                       // |x| ≤ 2⁻¹⁵: half subnormal or zero
            if exponent < 0x3300_0000 { return sign }      // below half of the smallest subnormal
            let e = exponent >> 23
            var significand = 0x0080_0000 + (f & 0x007F_FFFF)
            significand >>= (113 - e)
            // Round half to even; bits lost by the shift above still count as "above the half".
            if (significand & 0x3FFF) != 0x1000 || (f & 0x7FF) != 0 { significand += 0x1000 }
            return sign | UInt16(truncatingIfNeeded: significand >> 13)
        }
        let halfExponent = UInt16(truncatingIfNeeded: (exponent - 0x3800_0000) >> 13)
        var significand = f & 0x007F_FFFF
        if (significand & 0x3FFF) != 0x1000 { significand += 0x1000 }
        // A carry out of the significand bumps the exponent, up to +inf: still correct.
        return sign | (halfExponent &+ UInt16(truncatingIfNeeded: significand >> 13))
    }

    /// The `Float` equal to bfloat16 bits `b` (the top half of a float; exact).
    @inlinable @inline(__always)
    public static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// bfloat16 bits of `x`, rounded to nearest even; a NaN becomes a quiet NaN with its sign and
    /// top payload bits (ggml's `ggml_compute_fp32_to_bf16`, gguf-py's `BF16.quantize_blocks`).
    @inlinable @inline(__always)
    public static func bfloat16(from x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (UInt64(u) + 0x7FFF + UInt64((u >> 16) & 1)) >> 16)
    }
}
