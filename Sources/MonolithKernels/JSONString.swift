// Not Foundation's: JSONSerialization/JSONDecoder build every value of a document and reject lone
// \uD800-style surrogates that Python's json.loads accepts, while the JSONL preprocessor must pull
// one field per line of multi-GB corpora at 20+ MB/s, report byte offsets, and pick a surrogate
// policy; writers must match Python's json.dumps byte for byte (Foundation writes "/" as "\/").

/// The one JSON string-literal reader and writer of Monolith, shared by the JSONL field
/// extractor (MonolithData's `JSONLine`), the tokenizer-file parser and writer (MonolithTokenizer)
/// and the safetensors header writer (MonolithModel).
///
/// The writer escapes as Python's `json.dumps(s, ensure_ascii=False)` does: `\"`, `\\`, `\n`,
/// `\r`, `\t`, `\b`, `\f`, other control characters as lowercase `\u00xx`, and everything else
/// (including `/`, DEL and all non-ASCII) as raw UTF-8.
///
/// ```swift
/// JSONString.quoted("a\"b\n")          // "\"a\\\"b\\n\""
/// var i = 0, out: [UInt8] = []
/// try Array(#""caf\u00e9""#.utf8).withUnsafeBufferPointer {
///     try JSONString.read($0, at: &i, into: &out, loneSurrogates: .reject)
/// }                                    // out == Array("café".utf8), i == 12
/// ```
public enum JSONString {
    /// A malformed string literal: what is wrong, and the byte offset where.
    public struct SyntaxError: Error, Equatable, Sendable {
        /// What is wrong, e.g. "unterminated string".
        public var message: String
        /// Byte offset into the buffer passed to ``read(_:at:into:decode:loneSurrogates:)``.
        public var offset: Int

        @inlinable
        public init(_ message: String, offset: Int) { self.message = message; self.offset = offset }
    }

    /// What to do with a `\uD800`–`\uDFFF` escape that is not half of a surrogate pair (it cannot
    /// be UTF-8).
    public enum LoneSurrogates: Sendable {
        /// Throw: a file Monolith or Hugging Face wrote never contains one (tokenizer files).
        case reject
        /// Decode it as U+FFFD, as a lossy decode of Python's string would (corpora in the wild).
        case replace
    }

    /// Reads the string literal whose opening quote is at `bytes[i]`, leaving `i` just past its
    /// closing quote, and appends its decoded UTF-8 to `out` when `decode` (skipping is cheaper).
    /// RFC 8259 strictly: raw control characters and unknown escapes are errors. The result is not
    /// checked for valid UTF-8 beyond what the escapes produce: raw bytes are copied as they are.
    @inlinable
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>, at i: inout Int, into out: inout [UInt8],
                            decode: Bool = true, loneSurrogates: LoneSurrogates) throws(SyntaxError) {
        precondition(i < bytes.count && bytes[i] == UInt8(ascii: "\""), "JSONString.read starts at a quote")
        i += 1
        var runStart = i
        while true {
            guard i < bytes.count else { throw SyntaxError("unterminated string (truncated JSON?)", offset: i) }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                if decode { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                i += 1
                return
            }
            if c < 0x20 { throw SyntaxError("raw control character 0x\(String(c, radix: 16)) in a string", offset: i) }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            if decode { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            i += 1
            guard i < bytes.count else { throw SyntaxError("unterminated escape", offset: i) }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): if decode { out.append(e) }
            case UInt8(ascii: "b"): if decode { out.append(0x08) }
            case UInt8(ascii: "f"): if decode { out.append(0x0C) }
            case UInt8(ascii: "n"): if decode { out.append(0x0A) }
            case UInt8(ascii: "r"): if decode { out.append(0x0D) }
            case UInt8(ascii: "t"): if decode { out.append(0x09) }
            case UInt8(ascii: "u"):
                let escape = i - 2
                var scalar = try hex4(bytes, at: &i)
                if (0xD800..<0xDC00).contains(scalar), i + 1 < bytes.count,
                   bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4(bytes, at: &i)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save  // the next escape stands on its own
                    }
                }
                let decoded: Unicode.Scalar
                if let s = Unicode.Scalar(scalar) {
                    decoded = s
                } else if loneSurrogates == .replace {
                    decoded = "\u{FFFD}"
                } else {
                    throw SyntaxError("unpaired surrogate in a \\u escape", offset: escape)
                }
                if decode { out.append(contentsOf: UTF8.encode(decoded)!) }
            default:
                throw SyntaxError("invalid escape '\\\(Character(Unicode.Scalar(e)))'", offset: i - 2)
            }
            runStart = i
        }
    }

    /// Four hex digits at `i` (after `\u`), leaving `i` past them.
    @inlinable
    static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at i: inout Int) throws(SyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw SyntaxError("truncated \\u escape", offset: i) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c &- UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c &- UInt8(ascii: "a") &+ 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c &- UInt8(ascii: "A") &+ 10)
            default: throw SyntaxError("invalid hex digit in a \\u escape", offset: i)
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// Appends `text` (UTF-8) as a quoted JSON string literal, escaped as Python's
    /// `json.dumps(ensure_ascii=False)` does.
    public static func appendQuoted(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for (k, b) in text.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<k]))
            runStart = k + 1
            out.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(b)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 15)]])
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart...]))
        out.append(UInt8(ascii: "\""))
    }

    /// `s` as a quoted JSON string literal (see ``appendQuoted(_:to:)``).
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        var s = s
        s.withUTF8 { appendQuoted($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }
}
