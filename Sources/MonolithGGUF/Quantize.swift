import MonolithKernels

extension GGMLType {
    /// Encodes `count` floats at `src` as this type into `byteCount(elements: count)` bytes at `dst`.
    ///
    /// Bit-exact with gguf-py's `gguf.quants.quantize`: F16 is NumPy's `astype(float16)` (round to
    /// nearest even, NaN payloads kept; see ``HalfPrecision/half(from:)``), BF16 is ggml's
    /// round-to-nearest-even with NaNs quieted, and Q8_0 is ggml-quants.c's reference
    /// `quantize_row_q8_0_ref`: per block of 32, d = max|x| / 127, q = round-half-away(x · (1/d)),
    /// d stored as fp16. Q8_0 of blocks holding inf or NaN is undefined in the reference and here.
    ///
    /// - Precondition: ``isQuantizable``, and `count` is a multiple of ``blockSize``.
    public func quantize(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(isQuantizable, "quantize: \(name) cannot be written from floats")
        precondition(count >= 0 && count % blockSize == 0,
                     "quantize: \(count) elements is not a multiple of the \(name) block size \(blockSize)")
        let blocks = count / blockSize
        if count < 1 << 16 || WorkerPool.shared.threadCount == 1 {
            quantizeBlocks(src, 0..<blocks, dst)
        } else {
            WorkerPool.shared.parallelFor(blocks) { range in self.quantizeBlocks(src, range, dst) }
        }
    }

    /// Encodes blocks `range` of `src` into their bytes of `dst`.
    func quantizeBlocks(_ src: UnsafePointer<Float>, _ range: Range<Int>, _ dst: UnsafeMutableRawPointer) {
        switch self {
        case .f32:
            (dst + 4 * range.lowerBound).copyMemory(from: src + range.lowerBound, byteCount: 4 * range.count)
        case .f16:
            for i in range { dst.storeBytes(of: HalfPrecision.half(from: src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in range { dst.storeBytes(of: HalfPrecision.bfloat16(from: src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in range { Self.quantizeQ8_0Block(src + 32 * b, dst + 34 * b) }
        default:
            preconditionFailure("quantize: \(name) cannot be written from floats")
        }
    }

    /// One `block_q8_0` from 32 floats (ggml's `quantize_row_q8_0_ref`).
    @inline(__always)
    static func quantizeQ8_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        y.storeBytes(of: HalfPrecision.half(from: d).littleEndian, as: UInt16.self)
        let qs = (y + 2).assumingMemoryBound(to: Int8.self)
        // `rounded()` is round-half-away-from-zero, like C's roundf and gguf-py's np_roundf.
        for j in 0..<32 { qs[j] = Int8((x[j] * id).rounded()) }
    }
}
