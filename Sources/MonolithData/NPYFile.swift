/// Reading and writing NumPy `.npy` files (format version 1.0, little-endian integers, C order),
/// the format Megatron caches its dataset indices in. Using it for Monolith's index cache means
/// `numpy.load` can inspect and compare the cached indices against megatron-core's.
public enum NPYFile {
    /// Element types the index cache uses.
    public enum Element: String, Sendable {
        case int16 = "<i2", int32 = "<i4", int64 = "<i8", uint32 = "<u4"
        /// Bytes per element.
        public var size: Int { self == .int16 ? 2 : (self == .int64 ? 8 : 4) }
    }

    /// Writes `values` with `shape` (whose product must equal `values.count`) as `element`.
    public static func write(_ values: [Int64], shape: [Int], element: Element, to path: String) throws {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(element.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so the data starts on a 64-byte boundary, as NumPy does (10 = magic + version + length).
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let file = try FileWriter(path: path)
        try file.write([0x93] + Array("NUMPY".utf8) + [1, 0])
        try file.write(littleEndian: UInt16(header.utf8.count))
        try file.write(header)
        var chunk = [UInt8]()
        chunk.reserveCapacity(1 << 16)
        for v in values {
            switch element {
            case .int16: withUnsafeBytes(of: Int16(truncatingIfNeeded: v).littleEndian) { chunk.append(contentsOf: $0) }
            case .int32: withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian) { chunk.append(contentsOf: $0) }
            case .uint32: withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { chunk.append(contentsOf: $0) }
            case .int64: withUnsafeBytes(of: v.littleEndian) { chunk.append(contentsOf: $0) }
            }
            if chunk.count >= 1 << 16 { try file.write(chunk); chunk.removeAll(keepingCapacity: true) }
        }
        try file.write(chunk)
        try file.commit()
    }

    /// Reads a `.npy` file of one of the `Element` types into `Int64`s, with its shape.
    /// Throws `DataError.corrupt` naming the file on a bad header or a size mismatch.
    public static func read(_ path: String) throws -> (values: [Int64], shape: [Int]) {
        let file = try MappedFile(path: path)
        func fail(_ message: String) -> DataError { .corrupt(path: path, message: message) }
        guard file.count >= 10, file.load(0, as: UInt8.self) == 0x93,
              (1...5).map({ file.load($0, as: UInt8.self) }) == Array("NUMPY".utf8) else {
            throw fail("not a .npy file")
        }
        let major = file.load(6, as: UInt8.self)
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(file.load(8, as: UInt16.self)); headerStart = 10
        } else {
            guard file.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(file.load(8, as: UInt32.self)); headerStart = 12
        }
        guard headerStart + headerLength <= file.count else { throw fail("header runs past the end of the file") }
        let header = String(decoding: UnsafeRawBufferPointer(start: file.base! + headerStart, count: headerLength), as: UTF8.self)
        guard let element = Element.allCases.first(where: { header.contains("'\($0.rawValue)'") }) else {
            throw fail("unsupported dtype in header \(header)")
        }
        guard header.contains("'fortran_order': False") else { throw fail("Fortran-order arrays are not supported") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail("no shape in header \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: " "))
        }
        let count = shape.reduce(1, *)
        let dataStart = headerStart + headerLength
        guard file.count - dataStart == count * element.size else {
            throw fail("\(file.count - dataStart) data bytes, but shape \(shape) of \(element.rawValue) needs \(count * element.size)")
        }
        let base = file.base.map { $0 + dataStart }
        let values = (0..<count).map { i -> Int64 in
            switch element {
            case .int16: return Int64(Int16(littleEndian: base!.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            case .int32: return Int64(Int32(littleEndian: base!.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .uint32: return Int64(UInt32(littleEndian: base!.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .int64: return Int64(littleEndian: base!.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
            }
        }
        return (values, shape)
    }
}

extension NPYFile.Element: CaseIterable {}

private extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
