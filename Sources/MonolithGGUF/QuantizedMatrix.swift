import MonolithKernels

/// A weight matrix kept in its GGUF block-quantized form, multiplied by input vectors with integer
/// dot products, as llama.cpp's CPU backend does.
///
/// `rows` are output features (ggml `ne1`), `cols` input features (ggml `ne0`, a multiple of 32);
/// each row is `cols / 32` consecutive ggml blocks. ``multiply(_:rows:into:ldy:accumulate:scratch:pool:)``
/// first quantizes the inputs to 8 bits per block (``QuantizedActivations``: Q8_1 for Q4_1
/// weights, Q8_0 otherwise), then computes every output as Σ over blocks of an exact integer dot
/// product times the fp16 scales — the arithmetic of `ggml_vec_dot_q4_0_q8_0`,
/// `ggml_vec_dot_q4_1_q8_1` and `ggml_vec_dot_q8_0_q8_0`, so results agree with llama.cpp's to
/// fp32 rounding. Weights are read straight from the file's blocks (20 bytes per 32 weights for
/// Q4_1), which is what bounds batch-1 decoding.
///
/// ```swift
/// let file = try GGUFFile(path: "SmolLM2-135M-Instruct.Q4_1.gguf")
/// let wq = try QuantizedMatrix(file: file, named: "blk.0.attn_q.weight")   // 576 × 576, Q4_1
/// let scratch = QuantizedActivations()
/// wq.multiply(x, rows: 1, into: q, ldy: 576, accumulate: false, scratch: scratch)
/// ```
public final class QuantizedMatrix: @unchecked Sendable {
    /// Output features: rows of the matrix (ggml `ne1`).
    public let rows: Int
    /// Input features: columns (ggml `ne0`), a multiple of 32.
    public let cols: Int
    /// The block type of the weights.
    public let type: GGMLType
    /// Bytes of one row (`cols / 32` blocks).
    public let rowBytes: Int
    /// Where the blocks start.
    let base: UnsafeRawPointer
    /// What keeps `base` valid: the mapped file, or nil when the blocks are an owned copy.
    private let owner: AnyObject?
    private let ownedCopy: UnsafeMutableRawPointer?

    /// The weight types with kernels: Q4_0, Q4_1 and Q8_0.
    public static func supports(_ type: GGMLType) -> Bool { OperandLayout(type) != nil }

    /// The type llama.cpp quantizes the inputs to for these weights (its `vec_dot_type`).
    public var activationType: GGMLType { type == .q4_1 ? .q8_1 : .q8_0 }

    /// Bytes of weights one product reads: `rows × rowBytes`.
    public var byteCount: Int { rows * rowBytes }

    /// The 2-D tensor `tensor` of `file`, used in place (the matrix keeps the file open).
    ///
    /// - Throws: ``GGUFError`` naming the file, the tensor's info record and the problem when the
    ///   tensor is not 2-D or its type has no kernel.
    public init(file: GGUFFile, tensor: GGUFTensorInfo) throws {
        guard Self.supports(tensor.type) else {
            throw GGUFError(file.path, offset: tensor.infoOffset,
                            "tensor '\(tensor.name)' has ggml type \(tensor.type.name), which has no quantized matrix kernel (supported: Q4_0, Q4_1, Q8_0)")
        }
        let dims = tensor.dimensions
        guard dims.count == 2 || (dims.count > 2 && dims[2...].allSatisfy { $0 == 1 }), dims[0] > 0, dims[1] > 0 else {
            throw GGUFError(file.path, offset: tensor.infoOffset,
                            "tensor '\(tensor.name)' has dimensions \(dims); a quantized matrix needs 2 (ne0 = inputs, ne1 = outputs)")
        }
        guard let start = file.rawBytes(of: tensor).baseAddress else {
            throw GGUFError(file.path, offset: tensor.infoOffset, "tensor '\(tensor.name)' has no data")
        }
        cols = dims[0]; rows = dims[1]; type = tensor.type
        rowBytes = type.byteCount(elements: cols)
        base = start
        owner = file
        ownedCopy = nil
    }

    /// The tensor named `name` of `file`; throws a ``GGUFError`` if there is none or it cannot be used.
    public convenience init(file: GGUFFile, named name: String) throws {
        try self.init(file: file, tensor: file.requireTensor(named: name))
    }

    /// A copy of `rows × cols` weights of `type` stored as ggml blocks at `blocks`
    /// (`rows × type.byteCount(elements: cols)` bytes, any alignment).
    ///
    /// - Precondition: ``supports(_:)`` accepts `type`, `cols` is a positive multiple of 32,
    ///   `rows > 0`, and `blocks` holds exactly the bytes above.
    public init(copying blocks: UnsafeRawBufferPointer, type: GGMLType, rows: Int, cols: Int) {
        precondition(Self.supports(type), "QuantizedMatrix: no kernel for \(type.name)")
        precondition(rows > 0 && cols > 0 && cols % 32 == 0, "QuantizedMatrix: \(rows) × \(cols) is not whole blocks of 32")
        let bytes = rows * type.byteCount(elements: cols)
        precondition(blocks.count == bytes, "QuantizedMatrix: \(blocks.count) bytes given, \(rows) × \(cols) \(type.name) takes \(bytes)")
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        copy.copyMemory(from: blocks.baseAddress!, byteCount: bytes)
        self.rows = rows; self.cols = cols; self.type = type
        rowBytes = type.byteCount(elements: cols)
        base = UnsafeRawPointer(copy)
        owner = nil
        ownedCopy = copy
    }

    deinit { ownedCopy?.deallocate() }

    /// Dequantizes row `row` (`cols` values) into `out`, as ``GGMLType/dequantize(_:count:into:)``
    /// does (an embedding lookup).
    public func dequantizeRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "QuantizedMatrix: row \(row) is outside 0..<\(rows)")
        type.dequantizeBlocks(base + row * rowBytes, 0..<(cols / type.blockSize), out)
    }

    /// `y[b·ldy + o] (+)= Σᵢ W[o, i] · x[b·cols + i]` for the `nb` input vectors `b < nb` and every
    /// output `o < rows`, with the inputs quantized to 8 bits first (into `scratch`, once per call).
    ///
    /// Threads of `pool` split the output rows. With `accumulate` the products are added to `y`.
    /// For several matrices that read the same input (q, k, v; gate and up), quantize once with
    /// ``QuantizedActivations/quantize(_:rows:cols:for:)`` and call
    /// ``multiply(quantized:into:ldy:accumulate:pool:)`` for each.
    ///
    /// - Precondition: `nb ≥ 1` (typically 1–8), `ldy ≥ rows`.
    public func multiply(_ x: UnsafePointer<Float>, rows nb: Int, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         accumulate: Bool, scratch: QuantizedActivations, pool: WorkerPool = .shared) {
        scratch.quantize(x, rows: nb, cols: cols, for: type)
        multiply(quantized: scratch, into: y, ldy: ldy, accumulate: accumulate, pool: pool)
    }

    /// Like ``multiply(_:rows:into:ldy:accumulate:scratch:pool:)`` with inputs already quantized
    /// for this matrix's type (all `x.rows` vectors are multiplied).
    ///
    /// - Precondition: `x` holds vectors of `cols` values quantized for a weight type with the same
    ///   operand layout (Q4_0 and Q4_1 share one; Q8_0 has its own), and `ldy ≥ rows`.
    public func multiply(quantized x: QuantizedActivations, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         accumulate: Bool, pool: WorkerPool = .shared) {
        precondition(x.cols == cols, "QuantizedMatrix: inputs have \(x.cols) values, the matrix \(cols) columns")
        precondition(x.layout == OperandLayout(type), "QuantizedMatrix: inputs were quantized for another weight type than \(type.name)")
        precondition(ldy >= rows, "QuantizedMatrix: ldy \(ldy) < rows \(rows)")
        let nb = x.rows, cols = cols, blocks = cols / 32, rowBytes = rowBytes, base = base, type = type
        let operands = UnsafePointer(x.operands), scales = UnsafePointer(x.scales)
        // Rows outer, vectors inner: with several vectors a row's blocks are read from L1 after
        // the first. Each output is one row · one vector, so results do not depend on the split.
        func work(_ range: Range<Int>) {
            for o in range {
                let w = base + o * rowBytes
                var b = 0
                // Four vectors per pass share each unpacked weight block (same results as one at a time).
                while b + 4 <= nb {
                    let xb = operands + b * cols, sb = scales + b * blocks
                    let v: SIMD4<Float> = switch type {
                    case .q4_1: QuantizedDot.q4_1x4(w, blocks: blocks, xb, xStride: cols, sb, sStride: blocks)
                    case .q4_0: QuantizedDot.q4_0x4(w, blocks: blocks, xb, xStride: cols, sb, sStride: blocks)
                    default: QuantizedDot.q8_0x4(w, blocks: blocks, xb, xStride: cols, sb, sStride: blocks)
                    }
                    for i in 0..<4 {
                        if accumulate { y[(b + i) * ldy + o] += v[i] } else { y[(b + i) * ldy + o] = v[i] }
                    }
                    b += 4
                }
                for b in b..<nb {
                    let xb = operands + b * cols, sb = scales + b * blocks
                    let v: Float = switch type {
                    case .q4_1: QuantizedDot.q4_1(w, blocks: blocks, xb, sb)
                    case .q4_0: QuantizedDot.q4_0(w, blocks: blocks, xb, sb)
                    default: QuantizedDot.q8_0(w, blocks: blocks, xb, sb)
                    }
                    if accumulate { y[b * ldy + o] += v } else { y[b * ldy + o] = v }
                }
            }
        }
        // Below ~64 KB of weights a pool dispatch costs about as much as the work it shares.
        if byteCount * nb < 1 << 16 || pool.threadCount == 1 {
            work(0..<rows)
        } else {
            // About 8 chunks per thread, whole cache lines of output.
            pool.dynamicFor(rows, grain: max(16, rows / (8 * pool.threadCount)), work)
        }
    }
}
