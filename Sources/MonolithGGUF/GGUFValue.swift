/// The type tag of a GGUF metadata value (`enum gguf_type`, gguf-py's `GGUFValueType`).
public enum GGUFValueType: UInt32, CaseIterable, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// gguf-py's name of the type ("UINT32", "STRING", …).
    public var name: String {
        switch self {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }

    /// Bytes of one value of a fixed-size type; nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }
}

/// One GGUF metadata value: a scalar, a UTF-8 string, or an array of values of one type.
///
/// The typed accessors convert where no information is lost and return nil otherwise, so a
/// reader need not care whether a writer stored a count as UINT32 or INT64:
///
/// ```swift
/// let layers = file.metadata["llama.block_count"]?.int          // 30
/// let tokens = file.metadata["tokenizer.ggml.tokens"]?.stringArray
/// let eps = file.metadata["llama.attention.layer_norm_rms_epsilon"]?.float
/// ```
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    /// An array with its element type (kept so that an empty array still has one). Every element
    /// has that type; ``GGUFWriter`` checks this.
    case array(GGUFValueType, [GGUFValue])

    /// The value's type tag.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// Any integer type whose value fits in `Int`.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// FLOAT32 as is, FLOAT64 rounded to `Float`, or an integer exactly representable as `Float`.
    public var float: Float? {
        switch self {
        case .float32(let v): v
        case .float64(let v): Float(v)
        default: int.flatMap { Float(exactly: $0) }
        }
    }

    /// FLOAT64 as is, FLOAT32 widened, or an integer exactly representable as `Double`.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.flatMap { Double(exactly: $0) }
        }
    }

    /// A BOOL.
    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// A STRING.
    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    /// The elements of an ARRAY.
    public var array: [GGUFValue]? {
        if case .array(_, let v) = self { return v }
        return nil
    }

    /// The element type of an ARRAY.
    public var elementType: GGUFValueType? {
        if case .array(let t, _) = self { return t }
        return nil
    }

    /// An ARRAY of STRING.
    public var stringArray: [String]? {
        guard case .array(.string, let v) = self else { return nil }
        return v.map { $0.string ?? "" }
    }

    /// An ARRAY of integers that all fit in `Int`.
    public var intArray: [Int]? {
        guard case .array(_, let v) = self else { return nil }
        var out: [Int] = []
        out.reserveCapacity(v.count)
        for e in v {
            guard let i = e.int else { return nil }
            out.append(i)
        }
        return out
    }

    /// An ARRAY of numbers that each convert to `Float` as ``float`` does.
    public var floatArray: [Float]? {
        guard case .array(_, let v) = self else { return nil }
        var out: [Float] = []
        out.reserveCapacity(v.count)
        for e in v {
            guard let f = e.float else { return nil }
            out.append(f)
        }
        return out
    }
}

extension GGUFValue: CustomStringConvertible {
    /// A short rendering for messages and listings; long arrays and strings are abbreviated.
    public var description: String {
        switch self {
        case .string(let s): return s.count > 60 ? "\"\(s.prefix(60))…\" (\(s.utf8.count) bytes)" : "\"\(s)\""
        case .array(let t, let v):
            let head = v.prefix(5).map(\.description).joined(separator: ", ")
            return "[\(t.name) × \(v.count)] [\(head)\(v.count > 5 ? ", …" : "")]"
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        }
    }
}
