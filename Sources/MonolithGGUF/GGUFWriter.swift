/// Builds a GGUF version 3 file: metadata key-value pairs and tensors, written atomically.
///
/// Tensors are given as floats plus a target type (F32, F16, BF16 or Q8_0, encoded by
/// ``GGMLType/quantize(_:count:into:)`` while writing, so no second copy of the model is held), or
/// as already-encoded bytes of any ggml type. Dimensions are in ggml order (`ne0`, the contiguous
/// one, first): a PyTorch `[out, in]` weight is added with `dimensions: [in, out]`. The file is
/// laid out as gguf-py and llama.cpp write it: tensor data in the order added, each tensor at a
/// multiple of the alignment with zero padding, offsets contiguous (llama.cpp requires that).
///
/// Like gguf-py, the writer adds no keys of its own except `general.alignment` when the alignment
/// is not the default 32; a loadable llama.cpp model also needs `general.architecture` and that
/// architecture's keys, which the caller adds.
///
/// ```swift
/// let writer = GGUFWriter()
/// try writer.add("general.architecture", .string("llama"))
/// try writer.add("llama.block_count", .uint32(30))
/// try writer.addTensor("output_norm.weight", dimensions: [576], type: .f32, values: norm)
/// try writer.addTensor("token_embd.weight", dimensions: [576, 49152], type: .q8_0, values: embedding)
/// try writer.write(to: "model.gguf")
/// ```
public final class GGUFWriter {
    /// Alignment of the data section and of every tensor.
    public let alignment: Int
    /// Metadata keys in the order they will be written.
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [PendingTensor] = []
    private var tensorNames: Set<String> = []

    /// Where a tensor's bytes come from when the file is written.
    enum Source {
        case floats([Float])
        case pointer(UnsafePointer<Float>)
        case encoded([UInt8])
    }

    struct PendingTensor {
        let name: String
        let dimensions: [Int]
        let type: GGMLType
        let elementCount: Int
        let byteCount: Int
        let source: Source
    }

    /// ggml keeps tensor names in a 64-byte field including the terminating zero (`GGML_MAX_NAME`).
    public static let maxNameBytes = 63

    /// A writer whose data is aligned to `alignment` bytes (a power of two; the default is ggml's 32).
    public init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0 && alignment <= Int(UInt32.max),
                     "GGUF alignment \(alignment) must be a power of two")
        self.alignment = alignment
        if alignment != GGUFFile.defaultAlignment {
            keys.append("general.alignment")
            values["general.alignment"] = .uint32(UInt32(alignment))
        }
    }

    private func failure(_ message: String) -> GGUFError { GGUFError("GGUFWriter", message) }

    /// Adds metadata `key` = `value`. Keys must be unique and non-empty; arrays must hold elements of
    /// their declared type and must not nest (llama.cpp rejects nested arrays).
    public func add(_ key: String, _ value: GGUFValue) throws {
        guard !key.isEmpty else { throw failure("metadata keys must not be empty") }
        guard key != "general.alignment" else { throw failure("general.alignment is set by GGUFWriter(alignment:)") }
        guard values[key] == nil else { throw failure("duplicate metadata key '\(key)'") }
        if case .array(let elementType, let elements) = value {
            guard elementType != .array else { throw failure("key '\(key)': nested arrays are not supported by llama.cpp") }
            if let bad = elements.firstIndex(where: { $0.type != elementType }) {
                throw failure("key '\(key)': element \(bad) is \(elements[bad].type.name) in an array of \(elementType.name)")
            }
        }
        keys.append(key)
        values[key] = value
    }

    /// Adds a tensor encoded as `type` (F32, F16, BF16 or Q8_0) from `values`, which holds the
    /// elements in storage order (`ne0` fastest).
    public func addTensor(_ name: String, dimensions: [Int], type: GGMLType, values: [Float]) throws {
        try append(name, dimensions, type, values.count, .floats(values), encoded: false)
    }

    /// Adds a tensor encoded as `type` from `values`, read when ``write(to:)`` runs: the memory
    /// must stay valid and unchanged until then. Saves copying large weights that live in a flat
    /// parameter buffer.
    public func addTensor(_ name: String, dimensions: [Int], type: GGMLType, values: UnsafeBufferPointer<Float>) throws {
        let source: Source = values.baseAddress.map { .pointer($0) } ?? .floats([])
        try append(name, dimensions, type, values.count, source, encoded: false)
    }

    /// Adds a tensor whose bytes are already encoded as `type` (any ggml type, e.g. a Q4_K tensor
    /// copied from another file); `bytes.count` must equal `type.byteCount(elements:)`.
    public func addEncodedTensor(_ name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) throws {
        try append(name, dimensions, type, bytes.count, .encoded(bytes), encoded: true)
    }

    private func append(_ name: String, _ dimensions: [Int], _ type: GGMLType, _ count: Int, _ source: Source,
                        encoded: Bool) throws {
        guard !name.isEmpty, name.utf8.count <= Self.maxNameBytes else {
            throw failure("tensor name '\(name)' must be 1 to \(Self.maxNameBytes) bytes (ggml's limit)")
        }
        guard !tensorNames.contains(name) else { throw failure("duplicate tensor name '\(name)'") }
        guard (1...GGUFParser.maxDimensions).contains(dimensions.count), dimensions.allSatisfy({ $0 >= 0 }) else {
            throw failure("tensor '\(name)': dimensions \(dimensions) must be 1 to \(GGUFParser.maxDimensions) non-negative extents")
        }
        var elements = 1
        for d in dimensions {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw failure("tensor '\(name)': dimensions \(dimensions) overflow") }
            elements = p
        }
        guard dimensions[0] % type.blockSize == 0, let bytes = type.checkedByteCount(elements: elements) else {
            throw failure("tensor '\(name)': the row length \(dimensions[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        if encoded {
            guard count == bytes else {
                throw failure("tensor '\(name)': \(count) bytes given, but \(type.name) \(dimensions) takes \(bytes)")
            }
        } else {
            guard type.isQuantizable else {
                throw failure("tensor '\(name)': cannot encode floats as \(type.name) (writable: F32, F16, BF16, Q8_0)")
            }
            guard count == elements else {
                throw failure("tensor '\(name)': \(count) values given for dimensions \(dimensions) (\(elements) elements)")
            }
        }
        tensorNames.insert(name)
        tensors.append(PendingTensor(name: name, dimensions: dimensions, type: type, elementCount: elements,
                                     byteCount: bytes, source: source))
    }

    /// Writes the file to `path` (atomically: a temporary file renamed into place).
    public func write(to path: String) throws {
        let out = try AtomicOutput(path: path)
        try out.write(UInt32(0x4655_4747))                 // "GGUF" read as a little-endian u32
        try out.write(UInt32(3))
        try out.write(UInt64(tensors.count))
        try out.write(UInt64(keys.count))
        for key in keys {
            try writeString(key, out)
            try writeValue(values[key]!, out, withType: true)
        }
        var offset = 0
        for t in tensors {
            try writeString(t.name, out)
            try out.write(UInt32(t.dimensions.count))
            for d in t.dimensions { try out.write(UInt64(d)) }
            try out.write(t.type.rawValue)
            try out.write(UInt64(offset))
            offset += padded(t.byteCount)
        }
        try out.writeZeros(padded(out.position) - out.position)
        for t in tensors {
            try writeData(t, out)
            try out.writeZeros(padded(t.byteCount) - t.byteCount)
        }
        try out.commit()
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private func writeString(_ s: String, _ out: AtomicOutput) throws {
        var s = s
        try s.withUTF8 { bytes in
            try out.write(UInt64(bytes.count))
            try out.write(UnsafeRawBufferPointer(bytes))
        }
    }

    private func writeValue(_ value: GGUFValue, _ out: AtomicOutput, withType: Bool) throws {
        if withType { try out.write(value.type.rawValue) }
        switch value {
        case .uint8(let v): try out.write(v)
        case .int8(let v): try out.write(v)
        case .uint16(let v): try out.write(v)
        case .int16(let v): try out.write(v)
        case .uint32(let v): try out.write(v)
        case .int32(let v): try out.write(v)
        case .uint64(let v): try out.write(v)
        case .int64(let v): try out.write(v)
        case .float32(let v): try out.write(v.bitPattern)
        case .float64(let v): try out.write(v.bitPattern)
        case .bool(let v): try out.write(UInt8(v ? 1 : 0))
        case .string(let s): try writeString(s, out)
        case .array(let elementType, let elements):
            try out.write(elementType.rawValue)
            try out.write(UInt64(elements.count))
            for e in elements { try writeValue(e, out, withType: false) }
        }
    }

    /// Encodes and writes one tensor's data in chunks of whole blocks, so that a large tensor
    /// needs only a small scratch buffer.
    private func writeData(_ t: PendingTensor, _ out: AtomicOutput) throws {
        switch t.source {
        case .encoded(let bytes):
            try bytes.withUnsafeBytes { try out.write($0) }
        case .floats(let values):
            try values.withUnsafeBufferPointer { try encode(t, $0.baseAddress, out) }
        case .pointer(let p):
            try encode(t, p, out)
        }
    }

    private func encode(_ t: PendingTensor, _ src: UnsafePointer<Float>?, _ out: AtomicOutput) throws {
        guard let src, t.elementCount > 0 else { return }
        if t.type == .f32 {
            try out.write(UnsafeRawBufferPointer(start: src, count: 4 * t.elementCount))
            return
        }
        let chunk = max(t.type.blockSize, (1 << 20) / t.type.blockSize * t.type.blockSize)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: t.type.byteCount(elements: chunk), alignment: 64)
        defer { scratch.deallocate() }
        var start = 0
        while start < t.elementCount {
            let n = min(chunk, t.elementCount - start)
            t.type.quantize(src + start, count: n, into: scratch)
            try out.write(UnsafeRawBufferPointer(start: scratch, count: t.type.byteCount(elements: n)))
            start += n
        }
    }
}
