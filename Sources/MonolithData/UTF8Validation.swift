import MonolithTokenizer
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
        UTF8Text.firstInvalidOffset(bytes)
    }

    /// Whether every byte is ASCII whitespace (space, tab, CR, LF, FF, VT).
    public static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
    }
}
