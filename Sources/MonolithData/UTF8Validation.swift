/// UTF-8 validation that reports *where* the input goes wrong.
///
/// The standard library can tell whether bytes are valid UTF-8, but not the offset of the first
/// bad byte, which is what a user needs to find a stray Latin-1 `é` in a 5 MB book. ASCII runs
/// are skipped eight bytes at a time, so clean English text validates at memory speed.
public enum UTF8Validation {
    /// Offset of the first byte that does not start or continue a valid UTF-8 sequence, or `nil`
    /// if all of `bytes` is valid. Overlong forms, surrogates (U+D800–DFFF) and values above
    /// U+10FFFF are invalid, as in RFC 3629.
    public static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = 0
        while i < n {
            if i + 8 <= n {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
            }
            let b0 = base[i]
            if b0 < 0x80 { i += 1; continue }
            let length: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return i
            }
            if i + length > n { return i }
            let b1 = base[i + 1]
            if b1 < lower || b1 > upper { return i }
            for k in 2..<max(2, length) where base[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }

    /// Whether every byte is ASCII whitespace (space, tab, CR, LF, FF, VT).
    public static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
    }
}
