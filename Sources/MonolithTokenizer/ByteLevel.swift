/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode scalars.
///
/// Vocabulary files store byte-level tokens as text, so every byte needs a visible stand-in:
/// printable Latin-1 bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves and the other 68
/// bytes become U+0100…U+0143 in byte order. The space byte, for example, is written `Ġ` (U+0120).
public enum ByteLevel {
    /// The scalar value that stands for each byte.
    public static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if isPrintable(UInt8(b)) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each stand-in scalar (< 0x144) represents, or -1.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for b in 0..<256 { table[Int(scalarForByte[b])] = Int16(b) }
        return table
    }()

    private static func isPrintable(_ b: UInt8) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// The vocabulary spelling of `bytes` (e.g. `" the"` → `"Ġthe"`).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(s)
    }

    /// The bytes a vocabulary spelling stands for, or nil if it holds a scalar outside the
    /// byte-level alphabet (then it is not a byte-level token).
    public static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let v = Int(scalar.value)
            guard v < byteForScalar.count, byteForScalar[v] >= 0 else { return nil }
            out.append(UInt8(byteForScalar[v]))
        }
        return out
    }

    /// All 256 stand-in scalars sorted by scalar value: the order in which Hugging Face's
    /// `BpeTrainer` numbers its initial alphabet (after the special tokens).
    static var alphabetInScalarOrder: [UInt8] {
        (0..<256).map { UInt8($0) }.sorted { scalarForByte[Int($0)] < scalarForByte[Int($1)] }
    }
}
