/// Decoders of ggml's 32-element block types (`block_q4_0` … `block_q8_0` in ggml-common.h).
///
/// Each takes one block at `x` and writes its 32 floats to `y`. In the 4- and 5-bit types byte
/// `j` of `qs` holds element `j` in its low nibble and element `j + 16` in its high nibble; the
/// 5-bit types take the fifth bit of element `j` from bit `j` of the little-endian `qh` word.
/// Arithmetic follows gguf-py: `d * q` for the symmetric types, `(d * q) + m` for the ones with a
/// minimum, each operation rounded separately.
enum LegacyQuants {
    /// `block_q4_0`: fp16 `d`, 16 bytes of nibbles; y = d · (q − 8).
    @inline(__always)
    static func q4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0)
        let qs = (x + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = d * Float(Int32(qs[j] & 0x0F) - 8)
            y[j + 16] = d * Float(Int32(qs[j] >> 4) - 8)
        }
    }

    /// `block_q4_1`: fp16 `d`, fp16 `m`, 16 bytes of nibbles; y = d · q + m.
    @inline(__always)
    static func q4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0), m = x.loadHalf(2)
        let qs = (x + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = d * Float(qs[j] & 0x0F) + m
            y[j + 16] = d * Float(qs[j] >> 4) + m
        }
    }

    /// `block_q5_0`: fp16 `d`, 32-bit `qh`, 16 bytes of nibbles; y = d · (q − 16).
    @inline(__always)
    static func q5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0)
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let qs = (x + 6).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = Int32(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = Int32(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = d * Float((Int32(qs[j] & 0x0F) | h0) - 16)
            y[j + 16] = d * Float((Int32(qs[j] >> 4) | h1) - 16)
        }
    }

    /// `block_q5_1`: fp16 `d`, fp16 `m`, 32-bit `qh`, 16 bytes of nibbles; y = d · q + m.
    @inline(__always)
    static func q5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0), m = x.loadHalf(2)
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let qs = (x + 8).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let h0 = Int32(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = Int32(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = d * Float(Int32(qs[j] & 0x0F) | h0) + m
            y[j + 16] = d * Float(Int32(qs[j] >> 4) | h1) + m
        }
    }

    /// `block_q8_0`: fp16 `d`, 32 signed bytes; y = d · q.
    @inline(__always)
    static func q8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = x.loadHalf(0)
        let qs = (x + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = d * Float(qs[j]) }
    }
}
