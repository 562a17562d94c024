/// Reading text that may not be valid UTF-8.
///
/// Tokenizers work on valid UTF-8 only (every Swift `String` is). Files from the outside world
/// sometimes are not — `chesterton-ball.txt` in the shared data holds Latin-1 bytes — so callers
/// choose: reject with the byte offset (the default everywhere in Monolith) or replace each
/// maximal invalid subsequence with U+FFFD, as Python's `errors="replace"` does.
public enum UTF8Text {
    /// The offset of the first byte that starts an invalid sequence, or nil if `bytes` is valid.
    public static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = bytes.count
        guard let p = bytes.baseAddress else { return nil }
        var i = 0
        while i < n {
            // Eight ASCII bytes at a time: the common case for prose and code.
            if i + 8 <= n && UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b0 = p[i]
            if b0 < 0x80 { i += 1; continue }
            let len: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: len = 2
            case 0xE0: len = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: len = 3
            case 0xED: len = 3; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4: len = 4; hi = 0x8F
            default: return i
            }
            if i + len > n { return i }
            if p[i + 1] < lo || p[i + 1] > hi { return i }
            for k in 2..<len where p[i + k] & 0xC0 != 0x80 { return i }
            i += len
        }
        return nil
    }

    /// The offset of the first byte that starts an invalid sequence, or nil if `bytes` is valid.
    public static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { firstInvalidOffset($0) }
    }

    /// `bytes` as a String: rejected with the offset of the first invalid byte, or, with
    /// `replaceInvalid`, decoded with U+FFFD for each maximal invalid subsequence.
    public static func decode(_ bytes: [UInt8], file: String?, replaceInvalid: Bool) throws -> String {
        if let offset = firstInvalidOffset(bytes) {
            guard replaceInvalid else {
                throw TokenizerError(file: file, "invalid UTF-8 at byte offset \(offset)")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
