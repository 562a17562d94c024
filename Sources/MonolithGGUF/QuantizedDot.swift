/// Dot products of one quantized weight row with one quantized input vector (see
/// ``QuantizedActivations``), per block of 32: an exact integer sum of code products, converted to
/// `Float` and scaled by the fp16 scales, as llama.cpp's `ggml_vec_dot_q4_0_q8_0`,
/// `ggml_vec_dot_q4_1_q8_1` and `ggml_vec_dot_q8_0_q8_0` do.
///
/// Swift has no integer-SIMD intrinsics, so the kernels are written so that LLVM (with
/// `-target-cpu native`) selects them: ``multiplyAddPairs(_:_:)``, a widening multiply followed by
/// sums of adjacent pairs, becomes one `vpmaddwd` (16-bit products summed into 32-bit lanes), and
/// ``widen(_:)`` becomes `vpmovsxbw`. The 8 lanes of each block sum are converted and scaled with
/// one FMA into a `SIMD8<Float>` accumulator, with no horizontal sum per block. Row results do not
/// depend on how rows are split between threads.
enum QuantizedDot {
    /// `r[i] = a[2i]·b[2i] + a[2i+1]·b[2i+1]` in 32 bits (`vpmaddwd`; `vpdpwssd` with AVX-512 VNNI).
    @inline(__always)
    static func multiplyAddPairs(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
        // Written as element loops on purpose: LLVM turns these into vector sign extensions and
        // shuffles, which its x86 back end matches to pmaddwd; the standard library's generic
        // SIMD conversions are out-of-line calls.
        var wa = SIMD16<Int32>(), wb = SIMD16<Int32>()
        for i in 0..<16 { wa[i] = Int32(a[i]); wb[i] = Int32(b[i]) }
        let p = wa &* wb
        var r = SIMD8<Int32>()
        for i in 0..<8 { r[i] = p[2 * i] &+ p[2 * i + 1] }
        return r
    }

    /// The lanes as `Float` (`vcvtdq2ps`; the standard library's `SIMD8<Float>(_:)` from integers
    /// is an out-of-line call in this module).
    @inline(__always)
    static func float(_ v: SIMD8<Int32>) -> SIMD8<Float> {
        var r = SIMD8<Float>()
        for i in 0..<8 { r[i] = Float(v[i]) }
        return r
    }

    /// Sign-extends 16 bytes to 16-bit lanes (`vpmovsxbw`).
    @inline(__always)
    static func widen(_ v: SIMD16<Int8>) -> SIMD16<Int16> {
        var r = SIMD16<Int16>()
        for i in 0..<16 { r[i] = Int16(v[i]) }
        return r
    }

    /// The two fp16 values at `p` as `(p[0], p[1], 0, 0)` (one `vcvtph2ps`).
    @inline(__always)
    static func halfPair(_ p: UnsafeRawPointer) -> SIMD4<Float> {
        #if arch(x86_64) && os(macOS)
        // Float16 does not exist on Intel Macs.
        return SIMD4(HalfPrecision.float(fromHalf: p.loadUnaligned(as: UInt16.self)),
                     HalfPrecision.float(fromHalf: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)), 0, 0)
        #else
        let h = unsafeBitCast(SIMD8<UInt16>(p.loadUnaligned(as: UInt16.self), p.loadUnaligned(fromByteOffset: 2, as: UInt16.self),
                                            0, 0, 0, 0, 0, 0), to: SIMD8<Float16>.self)
        return SIMD4(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]))
        #endif
    }

    /// The fp16 value at `p` as a `Float`.
    @inline(__always)
    static func half(_ p: UnsafeRawPointer) -> Float {
        #if arch(x86_64) && os(macOS)
        return HalfPrecision.float(fromHalf: p.loadUnaligned(as: UInt16.self))
        #else
        return Float(Float16(bitPattern: p.loadUnaligned(as: UInt16.self)))
        #endif
    }

    @inline(__always)
    static func operand(_ p: UnsafePointer<Int16>) -> SIMD16<Int16> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int16>.self)
    }

    /// The 16 code bytes of a Q4 block as 16-bit lanes `[e(2k) | 256·e(2k+1)]` and
    /// `[e(2k+16) | 256·e(2k+17)]` (see ``OperandLayout/nibbles``): a 128-bit broadcast load, a
    /// shift and two masks, all within 128-bit lanes.
    @inline(__always)
    static func nibbles(_ codes: UnsafeRawPointer) -> (SIMD16<Int16>, SIMD16<Int16>) {
        let mask = SIMD16<UInt16>(lowHalf: SIMD8(repeating: 0x000F), highHalf: SIMD8(repeating: 0x0F00))
        let words = codes.loadUnaligned(as: SIMD8<UInt16>.self)
        let v = SIMD16<UInt16>(lowHalf: words, highHalf: words)
        return (unsafeBitCast(v & mask, to: SIMD16<Int16>.self), unsafeBitCast((v &>> 4) & mask, to: SIMD16<Int16>.self))
    }

    /// `block_q4_1` (fp16 d, fp16 m, 16 code bytes) · Q8_1: Σ d_w·d_x·Σq_w·q_x + m_w·s_x.
    @inline(__always)
    static func q4_1(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Int16>, _ scales: UnsafePointer<SIMD4<Float>>) -> Float {
        var acc = SIMD8<Float>(), minima = SIMD4<Float>()
        for b in 0..<blocks {
            let p = w + 20 * b
            // (d_w · d_x / 256, m_w · s_x, 0, 0)
            let f = halfPair(p) * scales[b]
            let (lo, hi) = nibbles(p + 4)
            let sums = multiplyAddPairs(lo, operand(x + 32 * b)) &+ multiplyAddPairs(hi, operand(x + 32 * b + 16))
            acc = acc.addingProduct(float(sums), SIMD8(repeating: f[0]))
            minima += f
        }
        return acc.sum() + minima[1]
    }

    /// `block_q4_0` (fp16 d, 16 code bytes, value q − 8) · Q8_0: Σ d_w·d_x·Σ(q_w − 8)·q_x.
    @inline(__always)
    static func q4_0(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Int16>, _ scales: UnsafePointer<SIMD4<Float>>) -> Float {
        let bias = SIMD16<Int16>(lowHalf: SIMD8(repeating: 8), highHalf: SIMD8(repeating: 8 * 256))
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 18 * b
            let (lo, hi) = nibbles(p + 2)
            let sums = multiplyAddPairs(lo &- bias, operand(x + 32 * b)) &+ multiplyAddPairs(hi &- bias, operand(x + 32 * b + 16))
            acc = acc.addingProduct(float(sums), SIMD8(repeating: half(p) * scales[b][0]))
        }
        return acc.sum()
    }

    /// `block_q8_0` (fp16 d, 32 signed code bytes) · Q8_0: Σ d_w·d_x·Σq_w·q_x.
    @inline(__always)
    static func q8_0(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Int16>, _ scales: UnsafePointer<SIMD4<Float>>) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 34 * b
            let lo = widen((p + 2).loadUnaligned(as: SIMD16<Int8>.self)), hi = widen((p + 18).loadUnaligned(as: SIMD16<Int8>.self))
            let sums = multiplyAddPairs(lo, operand(x + 32 * b)) &+ multiplyAddPairs(hi, operand(x + 32 * b + 16))
            acc = acc.addingProduct(float(sums), SIMD8(repeating: half(p) * scales[b][2]))
        }
        return acc.sum()
    }

    // Four input vectors at once (`x` and `scales` advance by `xStride` codes and `sStride`
    // blocks between vectors): a weight block is loaded and unpacked once for all four. Each
    // vector's arithmetic is the one-vector kernel's, in the same order, so every output is
    // bit-identical to it whatever the batch.

    /// ``q4_1(_:blocks:_:_:)`` for four vectors.
    @inline(__always)
    static func q4_1x4(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Int16>, xStride: Int,
                       _ scales: UnsafePointer<SIMD4<Float>>, sStride: Int) -> SIMD4<Float> {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var m0 = SIMD4<Float>(), m1 = SIMD4<Float>(), m2 = SIMD4<Float>(), m3 = SIMD4<Float>()
        for b in 0..<blocks {
            let p = w + 20 * b, dm = halfPair(p)
            let (lo, hi) = nibbles(p + 4)
            @inline(__always) func one(_ v: Int, _ acc: inout SIMD8<Float>, _ minima: inout SIMD4<Float>) {
                let f = dm * scales[v * sStride + b], xv = x + v * xStride + 32 * b
                let sums = multiplyAddPairs(lo, operand(xv)) &+ multiplyAddPairs(hi, operand(xv + 16))
                acc = acc.addingProduct(float(sums), SIMD8(repeating: f[0]))
                minima += f
            }
            one(0, &a0, &m0); one(1, &a1, &m1); one(2, &a2, &m2); one(3, &a3, &m3)
        }
        return SIMD4(a0.sum() + m0[1], a1.sum() + m1[1], a2.sum() + m2[1], a3.sum() + m3[1])
    }

    /// ``q4_0(_:blocks:_:_:)`` for four vectors.
    @inline(__always)
    static func q4_0x4(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Int16>, xStride: Int,
                       _ scales: UnsafePointer<SIMD4<Float>>, sStride: Int) -> SIMD4<Float> {
        let bias = SIMD16<Int16>(lowHalf: SIMD8(repeating: 8), highHalf: SIMD8(repeating: 8 * 256))
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 18 * b, d = half(p)
            let (lo, hi) = nibbles(p + 2)
            let l = lo &- bias, h = hi &- bias
            @inline(__always) func one(_ v: Int, _ acc: inout SIMD8<Float>) {
                let xv = x + v * xStride + 32 * b
                let sums = multiplyAddPairs(l, operand(xv)) &+ multiplyAddPairs(h, operand(xv + 16))
                acc = acc.addingProduct(float(sums), SIMD8(repeating: d * scales[v * sStride + b][0]))
            }
            one(0, &a0); one(1, &a1); one(2, &a2); one(3, &a3)
        }
        return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
    }

    /// ``q8_0(_:blocks:_:_:)`` for four vectors.
    @inline(__always)
    static func q8_0x4(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafePointer<Int16>, xStride: Int,
                       _ scales: UnsafePointer<SIMD4<Float>>, sStride: Int) -> SIMD4<Float> {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 34 * b, d = half(p)
            let lo = widen((p + 2).loadUnaligned(as: SIMD16<Int8>.self)), hi = widen((p + 18).loadUnaligned(as: SIMD16<Int8>.self))
            @inline(__always) func one(_ v: Int, _ acc: inout SIMD8<Float>) {
                let xv = x + v * xStride + 32 * b
                let sums = multiplyAddPairs(lo, operand(xv)) &+ multiplyAddPairs(hi, operand(xv + 16))
                acc = acc.addingProduct(float(sums), SIMD8(repeating: d * scales[v * sStride + b][2]))
            }
            one(0, &a0); one(1, &a1); one(2, &a2); one(3, &a3)
        }
        return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
    }
}
