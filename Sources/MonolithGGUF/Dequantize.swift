import MonolithKernels

extension GGMLType {
    /// Decodes `count` elements stored as this type at `src` into `count` floats at `dst`.
    ///
    /// Each type is decoded exactly as ggml-quants.c's `dequantize_row_*` and gguf-py's
    /// `gguf.quants.dequantize` define it: fp16 scales convert to `Float` exactly, and every
    /// product and sum is one `Float` operation in the reference's order (no fused multiply-add),
    /// so the output equals gguf-py's bit for bit. Large inputs are split over
    /// `WorkerPool.shared` by whole blocks.
    ///
    /// - Precondition: ``isSupported``, and `count` is a multiple of ``blockSize``. `src` holds
    ///   `byteCount(elements: count)` bytes (any alignment).
    public func dequantize(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(isSupported, "dequantize: \(name) is not a supported type")
        precondition(count >= 0 && count % blockSize == 0,
                     "dequantize: \(count) elements is not a multiple of the \(name) block size \(blockSize)")
        let blocks = count / blockSize
        // Below ~64k elements the pool's wake-up costs more than the decoding.
        if count < 1 << 16 || WorkerPool.shared.threadCount == 1 {
            dequantizeBlocks(src, 0..<blocks, dst)
        } else {
            WorkerPool.shared.parallelFor(blocks) { range in self.dequantizeBlocks(src, range, dst) }
        }
    }

    /// Decodes blocks `range` of the tensor at `src` into their elements of `dst`.
    func dequantizeBlocks(_ src: UnsafeRawPointer, _ range: Range<Int>, _ dst: UnsafeMutablePointer<Float>) {
        let bytes = typeSize, elements = blockSize
        switch self {
        case .f32:
            (dst + range.lowerBound).update(from: (src + 4 * range.lowerBound).assumingMemoryBound(to: Float.self),
                                            count: range.count)
        case .f16:
            for i in range {
                dst[i] = HalfPrecision.float(fromHalf: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .bf16:
            for i in range {
                dst[i] = HalfPrecision.float(fromBFloat16: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .q4_0: for b in range { LegacyQuants.q4_0(src + b * bytes, dst + b * elements) }
        case .q4_1: for b in range { LegacyQuants.q4_1(src + b * bytes, dst + b * elements) }
        case .q5_0: for b in range { LegacyQuants.q5_0(src + b * bytes, dst + b * elements) }
        case .q5_1: for b in range { LegacyQuants.q5_1(src + b * bytes, dst + b * elements) }
        case .q8_0: for b in range { LegacyQuants.q8_0(src + b * bytes, dst + b * elements) }
        case .q4_K: for b in range { KQuants.q4_K(src + b * bytes, dst + b * elements) }
        case .q5_K: for b in range { KQuants.q5_K(src + b * bytes, dst + b * elements) }
        case .q6_K: for b in range { KQuants.q6_K(src + b * bytes, dst + b * elements) }
        default: preconditionFailure("dequantize: \(name) is not a supported type")
        }
    }
}

extension UnsafeRawPointer {
    /// The little-endian fp16 at byte `offset`, as a `Float`.
    @inline(__always)
    func loadHalf(_ offset: Int) -> Float {
        HalfPrecision.float(fromHalf: UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
