/// How a block's 32 codes are arranged and scaled as 16-bit kernel operands, so that the weight
/// codes can be used in whatever order one SIMD load yields them, without shuffles.
enum OperandLayout: Equatable {
    /// For Q8_0 weights: codes in input order (`vpmovsxbw` widens the weight bytes in order).
    case bytes
    /// For Q4_0 and Q4_1 weights. A weight block's 16 code bytes, loaded as eight 16-bit words
    /// into both halves of a 256-bit register, give with the masks `0x000F | 0x0F00` and
    /// `(v >> 4) & (0x000F | 0x0F00)` the elements `2k` and `256 · (2k+1)`, then `2k+16` and
    /// `256 · (2k+17)`, k < 8. The operands are therefore
    /// `[256·x(2k), x(2k+1)]` and `[256·x(2k+16), x(2k+17)]`: every product is 256 times the true
    /// one (exact: |256·127| < 2¹⁵, and block sums stay below 2²⁴), and the 1/256 is folded into
    /// the activation scale, which is exact in binary.
    case nibbles

    init?(_ weightType: GGMLType) {
        switch weightType {
        case .q8_0: self = .bytes
        case .q4_0, .q4_1: self = .nibbles
        default: return nil
        }
    }

    @inline(__always)
    func arrange(_ q: UnsafePointer<Int8>, into o: UnsafeMutablePointer<Int16>) {
        switch self {
        case .bytes:
            for j in 0..<32 { o[j] = Int16(q[j]) }
        case .nibbles:
            for k in 0..<8 {
                o[k] = 256 * Int16(q[2 * k])
                o[8 + k] = Int16(q[2 * k + 1])
                o[16 + k] = 256 * Int16(q[2 * k + 16])
                o[24 + k] = Int16(q[2 * k + 17])
            }
        }
    }
}
