/// The element type of the tokens in a `.bin` file, with Megatron's numeric codes
/// (`megatron/core/datasets/indexed_dataset.py`, `DType`). The code is the byte stored in the
/// `.idx` header right after the version.
public enum TokenDType: UInt8, Sendable, Codable, CaseIterable {
    case uint8 = 1
    case int8 = 2
    case int16 = 3
    case int32 = 4
    case int64 = 5
    case float64 = 6
    case float32 = 7
    case uint16 = 8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .float32: return 4
        case .int64, .float64: return 8
        }
    }

    /// Whether the type can hold token ids (Megatron never writes the float codes for text).
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The range of token ids the type can store without loss (the Swift reader widens to `Int32`).
    public var tokenRange: ClosedRange<Int64> {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32, .int64: return Int64(Int32.min)...Int64(Int32.max)
        case .float32, .float64: return 0...0
        }
    }

    /// Megatron's `DType.optimal_dtype`: uint16 below 65,500 ids, else int32. The 36-id margin
    /// under 65,536 is Megatron's choice, kept so both tools pick the same type for a vocabulary.
    public static func optimal(vocabularySize: Int) -> TokenDType {
        vocabularySize < 65_500 ? .uint16 : .int32
    }
}
