/// A bounds-checked little-endian reader over a mapped GGUF file.
///
/// Every read first checks that the bytes exist, and every length or count is checked against
/// the bytes that remain before anything is allocated, so a corrupt or hostile file yields a
/// ``GGUFError`` naming the offset and the field instead of a crash or a huge allocation.
struct GGUFCursor {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    /// Position of the next read, from the start of the file.
    var offset: Int

    /// Arrays nest at most this deep (gguf-py can write nested arrays; llama.cpp rejects them).
    static let maxDepth = 8

    var remaining: Int { size - offset }

    func error(_ message: String, at position: Int? = nil) -> GGUFError {
        GGUFError(path, offset: position ?? offset, message)
    }

    /// Throws unless `count` more bytes exist.
    func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count <= remaining else {
            throw error("truncated: \(what()) needs \(count) bytes but the \(size)-byte file has only \(remaining) left")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    /// A 64-bit count or size that must fit in `Int`.
    mutating func readCount(_ what: @autoclosure () -> String) throws -> Int {
        let at = offset
        let v = try read(UInt64.self, what())
        guard let n = Int(exactly: v) else { throw error("\(what()) is \(v), too large", at: at) }
        return n
    }

    /// A GGUF string: a 64-bit byte length, then that many bytes of UTF-8.
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let length = try read(UInt64.self, "length of \(what())")
        guard length <= UInt64(remaining) else {
            throw error("\(what()): string length \(length) exceeds the \(remaining) bytes left in the \(size)-byte file (truncated or corrupt)", at: at)
        }
        let n = Int(length)
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: n)
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw error("\(what()) is not valid UTF-8", at: offset)
        }
        offset += n
        return s
    }

    /// One value of type `type`.
    mutating func value(_ type: GGUFValueType, _ what: @autoclosure () -> String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what()))
        case .int8: return .int8(try read(Int8.self, what()))
        case .uint16: return .uint16(try read(UInt16.self, what()))
        case .int16: return .int16(try read(Int16.self, what()))
        case .uint32: return .uint32(try read(UInt32.self, what()))
        case .int32: return .int32(try read(Int32.self, what()))
        case .uint64: return .uint64(try read(UInt64.self, what()))
        case .int64: return .int64(try read(Int64.self, what()))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what())))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what())))
        case .bool: return .bool(try read(UInt8.self, what()) != 0)
        case .string: return .string(try string(what()))
        case .array: return try array(what(), depth: depth)
        }
    }

    /// An array: element type, 64-bit count, elements.
    mutating func array(_ what: @autoclosure () -> String, depth: Int) throws -> GGUFValue {
        let typeAt = offset
        let raw = try read(UInt32.self, "element type of \(what())")
        guard let elementType = GGUFValueType(rawValue: raw) else {
            throw error("\(what()): unknown array element type \(raw)", at: typeAt)
        }
        guard depth < Self.maxDepth else { throw error("\(what()): arrays nested more than \(Self.maxDepth) deep", at: typeAt) }
        let countAt = offset
        let count = try read(UInt64.self, "element count of \(what())")
        // Smallest encoding of one element: a string is at least its 8-byte length, an array its
        // 4-byte type and 8-byte count. A count beyond what the rest of the file can hold means a
        // truncated file or a corrupt count; parsing stops where the bytes run out, and that
        // error carries a note about the count. Capacity is reserved only for what can fit.
        let minimum = UInt64(elementType.fixedSize ?? (elementType == .string ? 8 : 12))
        let fits = UInt64(remaining) / minimum
        if elementType.fixedSize != nil, count > fits {
            // Fixed-size elements: the shortfall is certain, no need to walk the bytes.
            throw error("truncated: \(what()): array of \(count) \(elementType.name) needs \(count) × \(minimum) bytes but the \(size)-byte file has only \(remaining) left (truncated, or the count is corrupt)", at: countAt)
        }
        var values: [GGUFValue] = []
        values.reserveCapacity(Int(min(count, fits)))
        do {
            for i in 0..<Int(min(count, UInt64(Int.max))) {
                values.append(try value(elementType, "element \(i) of \(what())", depth: depth + 1))
            }
        } catch let e as GGUFError where count > fits {
            throw GGUFError(e.path, offset: e.offset, e.message + "; \(what()): the array of \(count) \(elementType.name) (count at byte \(countAt)) cannot fit in the \(size)-byte file: it is truncated or the count is corrupt")
        }
        return .array(elementType, values)
    }
}
