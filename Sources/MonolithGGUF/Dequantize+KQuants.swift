/// Decoders of ggml's 256-element k-quant super-blocks (`block_q4_K`, `block_q5_K`, `block_q6_K`
/// in ggml-common.h).
///
/// Each takes one super-block at `x` and writes its 256 floats to `y`. Q4_K and Q5_K split the
/// block into 8 sub-blocks of 32 with 6-bit scales and minimums packed in 12 bytes
/// (``scaleAndMin(_:_:)``); y = (d · scale) · q − (dmin · min). Q6_K has 16 sub-blocks of 16 with
/// signed 8-bit scales; y = (d · scale) · (q − 32). Products are rounded in that order, as in
/// ggml-quants.c and gguf-py.
enum KQuants {
    /// Sub-block `j`'s 6-bit scale and minimum from the 12 packed bytes at `q` (ggml's
    /// `get_scale_min_k4`): sub-blocks 0–3 use the low 6 bits of bytes j and j + 4; sub-blocks 4–7
    /// take their low 4 bits from byte j + 4 and their top 2 bits from the spare bits of bytes
    /// j − 4 and j.
    @inline(__always)
    static func scaleAndMin(_ j: Int, _ q: UnsafePointer<UInt8>) -> (scale: Float, min: Float) {
        if j < 4 { return (Float(q[j] & 63), Float(q[j + 4] & 63)) }
        let scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4)
        let min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
        return (Float(scale), Float(min))
    }

    /// `block_q4_K`: fp16 `d`, fp16 `dmin`, 12 bytes of scales, 128 bytes of nibbles. Each 32-byte
    /// chunk c of `qs` holds sub-block 2c in its low nibbles and 2c + 1 in its high nibbles.
    @inline(__always)
    static func q4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0), dmin = x.loadHalf(2)
        let scales = (x + 4).assumingMemoryBound(to: UInt8.self)
        let qs = (x + 16).assumingMemoryBound(to: UInt8.self)
        for c in 0..<4 {
            let (s0, m0) = scaleAndMin(2 * c, scales), (s1, m1) = scaleAndMin(2 * c + 1, scales)
            let d0 = d * s0, min0 = dmin * m0, d1 = d * s1, min1 = dmin * m1
            let q = qs + 32 * c, out = y + 64 * c
            for l in 0..<32 {
                out[l] = d0 * Float(q[l] & 0x0F) - min0
                out[l + 32] = d1 * Float(q[l] >> 4) - min1
            }
        }
    }

    /// `block_q5_K`: fp16 `d`, fp16 `dmin`, 12 bytes of scales, 32 bytes of high bits, 128 bytes of
    /// nibbles laid out as in Q4_K; element l of sub-block s takes its fifth bit from bit s of
    /// `qh[l]`.
    @inline(__always)
    static func q5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0), dmin = x.loadHalf(2)
        let scales = (x + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (x + 16).assumingMemoryBound(to: UInt8.self)
        let qs = (x + 48).assumingMemoryBound(to: UInt8.self)
        for c in 0..<4 {
            let (s0, m0) = scaleAndMin(2 * c, scales), (s1, m1) = scaleAndMin(2 * c + 1, scales)
            let d0 = d * s0, min0 = dmin * m0, d1 = d * s1, min1 = dmin * m1
            let q = qs + 32 * c, out = y + 64 * c
            let shift0 = UInt8(2 * c), shift1 = UInt8(2 * c + 1)
            for l in 0..<32 {
                let h0 = ((qh[l] >> shift0) & 1) << 4, h1 = ((qh[l] >> shift1) & 1) << 4
                out[l] = d0 * Float((q[l] & 0x0F) | h0) - min0
                out[l + 32] = d1 * Float((q[l] >> 4) | h1) - min1
            }
        }
    }

    /// `block_q6_K`: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed scales, fp16
    /// `d`. Each 128-element half h uses `ql[64h..<64h+64]` and `qh[32h..<32h+32]`: element l, l + 32,
    /// l + 64, l + 96 take the low nibble of ql[l], of ql[l + 32], the high nibble of ql[l], of
    /// ql[l + 32], and bits 0–1, 2–3, 4–5, 6–7 of qh[l].
    @inline(__always)
    static func q6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(208)
        let scaleBytes = (x + 192).assumingMemoryBound(to: Int8.self)
        var scale = SIMD16<Float>()
        for i in 0..<16 { scale[i] = d * Float(scaleBytes[i]) }
        for h in 0..<2 {
            let ql = (x + 64 * h).assumingMemoryBound(to: UInt8.self)
            let qh = (x + 128 + 32 * h).assumingMemoryBound(to: UInt8.self)
            let out = y + 128 * h
            for l in 0..<32 {
                let i = 8 * h + l / 16
                let q1 = Int32((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32
                let q2 = Int32((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32
                let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                out[l] = scale[i] * Float(q1)
                out[l + 32] = scale[i + 2] * Float(q2)
                out[l + 64] = scale[i + 4] * Float(q3)
                out[l + 96] = scale[i + 6] * Float(q4)
            }
        }
    }
}
