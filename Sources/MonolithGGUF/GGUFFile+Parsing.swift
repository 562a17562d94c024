/// Parses and validates a mapped GGUF file (the work behind ``GGUFFile/init(path:)``).
enum GGUFParser {
    struct Parsed {
        var version: UInt32
        var keys: [String]
        var metadata: [String: GGUFValue]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    /// ggml tensors have at most four dimensions (`GGML_MAX_DIMS`).
    static let maxDimensions = 4

    static func parse(base: UnsafeRawPointer, size: Int, path: String) throws -> Parsed {
        var c = GGUFCursor(base: base, size: size, path: path, offset: 0)

        // Header.
        try c.need(4, "the magic 'GGUF'")
        let magic = UnsafeRawBufferPointer(start: base, count: 4)
        guard Array(magic) == Array("GGUF".utf8) else {
            let shown = magic.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "?" }.joined()
            let hex = magic.map { String($0, radix: 16) }.joined(separator: " ")
            throw c.error("bad magic '\(shown)' (bytes \(hex)), expected 'GGUF': not a GGUF file", at: 0)
        }
        c.offset = 4
        let version = try c.read(UInt32.self, "the version")
        if version & 0xFFFF == 0 && version != 0 {
            throw c.error("version field reads \(version) (0x\(String(version, radix: 16))): a big-endian GGUF file, which this reader does not support", at: 4)
        }
        guard version == 2 || version == 3 else {
            throw c.error("unsupported GGUF version \(version) (this reader reads versions 2 and 3)", at: 4)
        }
        let tensorCount = try c.read(UInt64.self, "the tensor count")
        let kvCount = try c.read(UInt64.self, "the metadata key-value count")
        // A key-value pair takes at least 13 bytes (key length, type, one byte of value), a tensor
        // info at least 24 (name length, dimension count, type, offset). Larger counts mean a
        // truncated file or a corrupt count; which one shows only where parsing stops, so the
        // error from there is thrown with a note about the count.
        let headerEnd = c.offset
        let countNote = { (count: UInt64, what: String, at: Int, minimum: Int) -> String? in
            count <= UInt64((size - headerEnd) / minimum) ? nil
                : "; the \(what) \(count) (at byte \(at)) cannot fit in the \(size - headerEnd) bytes after the header: the file is truncated or the count is corrupt"
        }
        let kvNote = countNote(kvCount, "metadata key-value count", 16, 13)
        let tensorNote = countNote(tensorCount, "tensor count", 8, 24)
        func annotated<T>(_ note: String?, _ body: () throws -> T) throws -> T {
            do { return try body() } catch let e as GGUFError where note != nil {
                throw GGUFError(e.path, offset: e.offset, e.message + note!)
            }
        }

        // Metadata.
        var keys: [String] = [], metadata: [String: GGUFValue] = [:], keyOffsets: [String: Int] = [:]
        keys.reserveCapacity(Int(min(kvCount, UInt64(c.remaining / 13))))
        try annotated(kvNote) {
            for i in 0..<Int(min(kvCount, UInt64(Int.max))) {
                let keyAt = c.offset
                let key = try c.string("the key of metadata entry \(i) (of \(kvCount))")
                guard !key.isEmpty else { throw c.error("metadata entry \(i) has an empty key", at: keyAt) }
                if let first = keyOffsets[key] {
                    throw c.error("duplicate metadata key '\(key)' (first at byte \(first))", at: keyAt)
                }
                let typeAt = c.offset
                let rawType = try c.read(UInt32.self, "the value type of key '\(key)'")
                guard let type = GGUFValueType(rawValue: rawType) else {
                    throw c.error("key '\(key)' has unknown value type \(rawType) (known: 0-12)", at: typeAt)
                }
                metadata[key] = try c.value(type, "the value of key '\(key)'")
                keys.append(key)
                keyOffsets[key] = keyAt
            }
        }

        var alignment = GGUFFile.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value else {
                throw c.error("general.alignment must be a UINT32, found \(value.type.name)", at: keyOffsets["general.alignment"])
            }
            guard a != 0, a & (a - 1) == 0 else {
                throw c.error("general.alignment \(a) is not a power of two", at: keyOffsets["general.alignment"])
            }
            alignment = Int(a)
        }

        // Tensor infos.
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(Int(min(tensorCount, UInt64(c.remaining / 24))))
        var tensorOffsets: [String: Int] = [:]
        try annotated(tensorNote) {
            for i in 0..<Int(min(tensorCount, UInt64(Int.max))) {
                let infoAt = c.offset
                let name = try c.string("the name of tensor \(i) (of \(tensorCount))")
                if let first = tensorOffsets[name] {
                    throw c.error("duplicate tensor name '\(name)' (first at byte \(first))", at: infoAt)
                }
                tensorOffsets[name] = infoAt
                tensors.append(try tensorInfo(&c, name: name, infoAt: infoAt, alignment: alignment))
            }
        }

        // Data section: aligned after the infos; every tensor inside the file, none overlapping.
        let (padded, overflow) = c.offset.addingReportingOverflow((alignment - c.offset % alignment) % alignment)
        guard !overflow else { throw c.error("data section offset overflows") }
        let dataOffset = padded
        for t in tensors {
            let (end, o1) = dataOffset.addingReportingOverflow(t.offset)
            let (last, o2) = end.addingReportingOverflow(t.byteCount)
            guard !o1, !o2, last <= size else {
                throw c.error("tensor '\(t.name)' (\(t.type.name), \(t.byteCount) bytes at data offset \(t.offset); the data section starts at byte \(dataOffset)) runs past the end of the \(size)-byte file", at: t.infoOffset)
            }
        }
        let byStart = tensors.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        for (a, b) in zip(byStart, byStart.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw c.error("tensors '\(a.name)' (data offset \(a.offset), \(a.byteCount) bytes) and '\(b.name)' (data offset \(b.offset)) overlap", at: b.infoOffset)
        }
        return Parsed(version: version, keys: keys, metadata: metadata, tensors: tensors,
                      alignment: alignment, dataOffset: dataOffset)
    }

    /// The rest of a tensor info after its name: dimensions, type, offset.
    static func tensorInfo(_ c: inout GGUFCursor, name: String, infoAt: Int, alignment: Int) throws -> GGUFTensorInfo {
        let dimsAt = c.offset
        let n = try c.read(UInt32.self, "the dimension count of tensor '\(name)'")
        guard n <= maxDimensions else {
            throw c.error("tensor '\(name)' has \(n) dimensions; ggml allows at most \(maxDimensions)", at: dimsAt)
        }
        var dimensions: [Int] = []
        var elements = 1
        for j in 0..<Int(n) {
            let at = c.offset
            let d = try c.read(UInt64.self, "dimension \(j) of tensor '\(name)'")
            guard let dim = Int(exactly: d) else { throw c.error("tensor '\(name)': dimension \(j) is \(d), too large", at: at) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw c.error("tensor '\(name)': element count of dimensions \(dimensions + [dim]) overflows", at: at) }
            elements = product
            dimensions.append(dim)
        }
        let typeAt = c.offset
        let rawType = try c.read(UInt32.self, "the ggml type of tensor '\(name)'")
        guard let type = GGMLType(rawValue: rawType) else {
            throw c.error("tensor '\(name)' has unknown ggml type \(rawType)", at: typeAt)
        }
        // ggml stores rows of whole blocks, so the first (contiguous) dimension must be a multiple
        // of the block size; that makes the element count one too.
        let rowLength = dimensions.first ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw c.error("tensor '\(name)' of type \(type.name) has dimensions \(dimensions) (\(elements) elements): the row length \(rowLength) is not a multiple of the block size \(type.blockSize)", at: dimsAt)
        }
        guard let bytes = type.checkedByteCount(elements: elements) else {
            throw c.error("tensor '\(name)' of type \(type.name) with dimensions \(dimensions): byte size overflows", at: dimsAt)
        }
        let offsetAt = c.offset
        let offset = try c.readCount("the data offset of tensor '\(name)'")
        guard offset % alignment == 0 else {
            throw c.error("tensor '\(name)' has data offset \(offset), not a multiple of the alignment \(alignment)", at: offsetAt)
        }
        return GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset,
                              elementCount: elements, byteCount: bytes, infoOffset: infoAt)
    }
}
