/// A ggml tensor element type, numbered as in ggml's `enum ggml_type` (and gguf-py's
/// `GGMLQuantizationType`), which is how GGUF tensor infos store it.
///
/// Block types pack `blockSize` elements into `typeSize` bytes (for example Q4_1: 32 elements in
/// 20 bytes: an fp16 scale, an fp16 minimum and 16 bytes of 4-bit codes). Plain types have blocks of
/// one element. Every type ggml defines is listed so that a reader can name and size it; only the
/// ``isSupported`` ones can be decoded by ``dequantize(_:count:into:)``.
///
/// ```swift
/// let type = GGMLType.q4_1
/// type.byteCount(elements: 576 * 576)   // 207_360
/// ```
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// Elements per super-block of the k-quants (ggml's `QK_K`).
    public static let superBlockSize = 256

    /// Elements per block (1 for the plain types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: 32
        case .nvfp4: 64
        case .q1_0: 128
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq3_S, .iq2_S,
             .iq4_XS, .iq1_M, .tq1_0, .tq2_0: Self.superBlockSize
        }
    }

    /// Bytes per block, as in gguf-py's `GGML_QUANT_SIZES` (ggml's `type_size`).
    public var typeSize: Int {
        let k = Self.superBlockSize
        return switch self {
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .f64, .i64: 8
        case .i8: 1
        case .q4_0, .iq4_NL: 2 + 16
        case .q4_1: 2 + 2 + 16
        case .q5_0: 2 + 4 + 16
        case .q5_1: 2 + 2 + 4 + 16
        case .q8_0: 2 + 32
        case .q8_1: 4 + 4 + 32
        case .q2_K: 2 + 2 + k / 16 + k / 4
        case .q3_K: 2 + k / 4 + k / 8 + 12
        case .q4_K: 2 + 2 + k / 2 + 12
        case .q5_K: 2 + 2 + k / 2 + k / 8 + 12
        case .q6_K: 2 + k / 2 + k / 4 + k / 16
        case .q8_K: 4 + k + k / 8
        case .iq2_XXS: 2 + k / 4
        case .iq2_XS: 2 + k / 4 + k / 32
        case .iq3_XXS: 2 + k / 4 + k / 8
        case .iq1_S: 2 + k / 8 + k / 16
        case .iq3_S: 2 + k / 4 + k / 8 + k / 32 + 4
        case .iq2_S: 2 + k / 4 + k / 16
        case .iq4_XS: 2 + 2 + k / 2 + k / 64
        case .iq1_M: k / 8 + k / 16 + k / 32
        case .tq1_0: 2 + 4 * 13
        case .tq2_0: 2 + 64
        case .mxfp4: 1 + 16
        case .nvfp4: 4 + 32
        case .q1_0: 2 + 16
        }
    }

    /// ggml's name of the type ("F32", "Q4_1", "Q6_K", "IQ2_XXS", …).
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q8_1: "Q8_1"
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .q8_K: "Q8_K"
        case .iq2_XXS: "IQ2_XXS"
        case .iq2_XS: "IQ2_XS"
        case .iq3_XXS: "IQ3_XXS"
        case .iq1_S: "IQ1_S"
        case .iq4_NL: "IQ4_NL"
        case .iq3_S: "IQ3_S"
        case .iq2_S: "IQ2_S"
        case .iq4_XS: "IQ4_XS"
        case .i8: "I8"
        case .i16: "I16"
        case .i32: "I32"
        case .i64: "I64"
        case .f64: "F64"
        case .iq1_M: "IQ1_M"
        case .bf16: "BF16"
        case .tq1_0: "TQ1_0"
        case .tq2_0: "TQ2_0"
        case .mxfp4: "MXFP4"
        case .nvfp4: "NVFP4"
        case .q1_0: "Q1_0"
        }
    }

    /// Whether ``dequantize(_:count:into:)`` decodes this type: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
    /// Q5_1, Q8_0, Q4_K, Q5_K and Q6_K (what Llama-family GGUF files commonly hold).
    public var isSupported: Bool {
        switch self {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Whether ``quantize(_:count:into:)`` encodes this type: F32, F16, BF16 and Q8_0 (the types
    /// ``GGUFWriter`` writes from floats).
    public var isQuantizable: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0: true
        default: false
        }
    }

    /// Bytes that `elements` values take; `elements` must be a multiple of ``blockSize``.
    public func byteCount(elements: Int) -> Int {
        precondition(elements % blockSize == 0, "\(name): \(elements) elements is not a multiple of the block size \(blockSize)")
        return elements / blockSize * typeSize
    }

    /// Like ``byteCount(elements:)`` but nil when `elements` is not a whole number of blocks or the
    /// byte count overflows `Int` (for validating untrusted shapes).
    public func checkedByteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : bytes
    }
}

extension GGMLType: CustomStringConvertible {
    /// The type's ggml name.
    public var description: String { name }
}
