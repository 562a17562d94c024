/// One tensor's entry in a GGUF file's tensor-info table.
///
/// `dimensions` are in ggml order, fastest-varying first (`ne0, ne1, …`): a PyTorch weight of
/// shape `[out, in]` is stored with `dimensions == [in, out]`, and ``shape`` gives the row-major
/// order back.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Extent of each dimension in ggml order (`ne0` first, the contiguous one).
    public let dimensions: [Int]
    /// Element type.
    public let type: GGMLType
    /// Byte offset of the data from the start of the file's data section (a multiple of the
    /// file's alignment).
    public let offset: Int
    /// Product of ``dimensions``.
    public let elementCount: Int
    /// Bytes of data: `elementCount / type.blockSize * type.typeSize`.
    public let byteCount: Int
    /// Byte offset in the file where this tensor's info record starts (for messages).
    public let infoOffset: Int

    /// A tensor info with every field given (the reader fills these from the file).
    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int, elementCount: Int,
                byteCount: Int, infoOffset: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.elementCount = elementCount
        self.byteCount = byteCount
        self.infoOffset = infoOffset
    }

    /// The dimensions in row-major order (outermost first), as PyTorch and NumPy write shapes.
    public var shape: [Int] { dimensions.reversed() }
}
