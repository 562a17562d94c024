/// Input vectors quantized to 8 bits per block of 32, the way llama.cpp's CPU backend prepares
/// the input of a quantized matrix product, laid out for ``QuantizedMatrix``'s kernels.
///
/// For Q4_0 and Q8_0 weights llama.cpp quantizes activations to Q8_0, for Q4_1 weights to Q8_1
/// (the weight type's `vec_dot_type`). Both use the same codes and scale; Q8_1 adds the block's
/// scaled code sum. This is the x86 build's `quantize_row_q8_0` / `quantize_row_q8_1`
/// (ggml-cpu/arch/x86/quants.c), per block of 32 values:
///
/// - `amax = max |x|`, `d = amax / 127`, `id = 127 / amax` (0 when `amax` is 0);
/// - code `q = round(x · id)`, rounding half to even (`_mm256_round_ps`), in −127…127;
/// - `d` is stored as fp16 (round to nearest even), and Q8_1's `s = fp16(d · Σq)` uses the fp32 `d`.
///
/// gguf-py's Q8_0 encoder (ggml's `quantize_row_q8_0_ref`) rounds half away from zero and divides
/// by `d` instead of multiplying by `127 / amax`; the two differ only on exact (or near) ties.
/// Non-finite inputs give unspecified codes, as in llama.cpp; nothing traps.
///
/// One instance is scratch space that grows to the largest input it has seen; reuse it across
/// calls (it is not thread-safe: one caller at a time).
///
/// ```swift
/// let scratch = QuantizedActivations()
/// scratch.quantize(x, rows: 1, cols: 576, for: .q4_1)
/// scratch.code(row: 0, index: 5)         // Int8 code of x[5]
/// ```
public final class QuantizedActivations {
    /// Input vectors held (`rows` × `cols` values).
    public private(set) var rows = 0
    /// Values per vector (a multiple of 32).
    public private(set) var cols = 0
    /// The operand order of ``operands``, set by the weight type given to ``quantize(_:rows:cols:for:)``.
    private(set) var layout = OperandLayout.bytes

    /// Codes, `rows × cols`, in input order.
    private var codes: UnsafeMutablePointer<Int8>
    /// fp16 bits of `d` and of Q8_1's `s`, interleaved per block.
    private var halves: UnsafeMutablePointer<UInt16>
    /// The codes as the kernels read them, in ``layout`` order and scaling (see ``OperandLayout``).
    private(set) var operands: UnsafeMutablePointer<Int16>
    /// Per block: `(d / 256, s, d, 0)` as `Float`, the factors the kernels apply to each block sum.
    private(set) var scales: UnsafeMutablePointer<SIMD4<Float>>
    private var capacity = 0

    /// Empty scratch; storage is allocated by the first ``quantize(_:rows:cols:for:)``.
    public init() {
        codes = .allocate(capacity: 0); halves = .allocate(capacity: 0)
        operands = .allocate(capacity: 0); scales = .allocate(capacity: 0)
    }

    deinit {
        codes.deallocate(); halves.deallocate(); operands.deallocate(); scales.deallocate()
    }

    /// Quantizes `rows` vectors of `cols` floats (`x[r * cols + i]`) for a product with weights of
    /// type `weightType` (which fixes the operand layout; the codes and scales do not depend on it).
    ///
    /// - Precondition: `cols` is a positive multiple of 32, `rows ≥ 1`, and
    ///   ``QuantizedMatrix/supports(_:)`` accepts `weightType`.
    public func quantize(_ x: UnsafePointer<Float>, rows: Int, cols: Int, for weightType: GGMLType) {
        precondition(rows >= 1 && cols > 0 && cols % 32 == 0,
                     "QuantizedActivations: \(rows) × \(cols) is not whole blocks of 32")
        guard let layout = OperandLayout(weightType) else {
            preconditionFailure("QuantizedActivations: no kernel for \(weightType.name) weights")
        }
        reserve(rows * cols)
        self.rows = rows; self.cols = cols; self.layout = layout
        for block in 0..<(rows * cols / 32) {
            let (d, s) = Self.quantizeBlock(x + 32 * block, into: codes + 32 * block)
            halves[2 * block] = HalfPrecision.half(from: d)
            halves[2 * block + 1] = HalfPrecision.half(from: s)
            let dq = HalfPrecision.float(fromHalf: halves[2 * block])
            scales[block] = SIMD4(dq / 256, HalfPrecision.float(fromHalf: halves[2 * block + 1]), dq, 0)
            layout.arrange(codes + 32 * block, into: operands + 32 * block)
        }
    }

    /// Whether the vectors held are `rows × cols` quantized for weights of `weightType`'s operand
    /// layout, so a product with such weights can reuse them (Q4_0 and Q4_1 share one).
    public func isPrepared(for weightType: GGMLType, rows: Int, cols: Int) -> Bool {
        self.rows == rows && self.cols == cols && OperandLayout(weightType) == layout
    }

    /// Code of value `index` of vector `row`.
    public func code(row: Int, index: Int) -> Int8 {
        precondition(row >= 0 && row < rows && index >= 0 && index < cols)
        return codes[row * cols + index]
    }

    /// fp16 bits of the scale `d` of block `block` (values `32·block ..< 32·block + 32`) of `row`.
    public func scaleBits(row: Int, block: Int) -> UInt16 {
        precondition(row >= 0 && row < rows && block >= 0 && block < cols / 32)
        return halves[2 * (row * cols / 32 + block)]
    }

    /// fp16 bits of Q8_1's `s = d · Σq` of block `block` of `row`.
    public func sumBits(row: Int, block: Int) -> UInt16 {
        precondition(row >= 0 && row < rows && block >= 0 && block < cols / 32)
        return halves[2 * (row * cols / 32 + block) + 1]
    }

    /// Grows the buffers to hold `count` values (contents are not kept).
    private func reserve(_ count: Int) {
        guard count > capacity else { return }
        codes.deallocate(); halves.deallocate(); operands.deallocate(); scales.deallocate()
        codes = .allocate(capacity: count)
        halves = .allocate(capacity: count / 16)
        operands = .allocate(capacity: count)
        scales = .allocate(capacity: count / 32)
        capacity = count
    }

    /// One block: writes 32 codes, returns the fp32 `d` and `d · Σq` (before fp16 rounding).
    @inline(__always)
    static func quantizeBlock(_ x: UnsafePointer<Float>, into q: UnsafeMutablePointer<Int8>) -> (Float, Float) {
        let raw = UnsafeRawPointer(x)
        let v0 = raw.loadUnaligned(as: SIMD8<Float>.self), v1 = raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        let v2 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), v3 = raw.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
        // Masked replacement rather than pointwiseMax and .max(), which stay out-of-line calls.
        var m = magnitude(v0)
        for v in [magnitude(v1), magnitude(v2), magnitude(v3)] { m.replace(with: v, where: v .> m) }
        var h = m.lowHalf
        h.replace(with: m.highHalf, where: m.highHalf .> h)
        let h2 = h[0] > h[1] ? h[0] : h[1], h3 = h[2] > h[3] ? h[2] : h[3]
        let amax = h2 > h3 ? h2 : h3
        let d = amax / 127
        let id: Float = amax != 0 ? 127 / amax : 0
        var sum: Int32 = 0
        @inline(__always) func codes(_ v: SIMD8<Float>, _ out: UnsafeMutablePointer<Int8>) {
            let r = (v * id).rounded(.toNearestOrEven)
            for i in 0..<8 {
                // |r| ≤ 127 for finite input. The clamp stops NaN and ±inf from trapping and, like
                // cvtps2dq + packs in llama.cpp, sends NaN to −128.
                let c = Int32(r[i] > -128 ? (r[i] < 127 ? r[i] : 127) : -128)
                out[i] = Int8(truncatingIfNeeded: c)
                sum &+= c
            }
        }
        codes(v0, q); codes(v1, q + 8); codes(v2, q + 16); codes(v3, q + 24)
        return (d, d * Float(sum))
    }

    @inline(__always)
    private static func magnitude(_ v: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }
}
