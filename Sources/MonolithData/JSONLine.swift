import MonolithKernels

/// A strict, allocation-light parser for one JSONL line that pulls out a single string field.
///
/// `JSONSerialization` builds a dictionary of every field for each line; the preprocessor only
/// needs `"text"`, and at 20+ MB/s the difference matters. The whole line is still validated as
/// one JSON object (RFC 8259: no trailing commas, no raw control characters in strings, no
/// comments), so a truncated or garbled line is reported, not half-read. Like Python's
/// `json.loads`, a repeated key takes its last value.
public enum JSONLine {
    /// What `extract` found.
    public enum Result: Equatable {
        /// The field's decoded bytes (UTF-8) and the byte range of its quoted value in the line.
        case string([UInt8], valueRange: Range<Int>)
        /// The line is a JSON object without the key.
        case missingKey
        /// The key holds a number, object, array, boolean or null.
        case notAString(kind: String)
        /// The line is not a JSON object; the message says why and `offset` where.
        case malformed(String, offset: Int)
    }

    /// Parses `line` (without its newline) and extracts the top-level string `key`.
    public static func extract(key: [UInt8], from line: UnsafeBufferPointer<UInt8>) -> Result {
        var parser = Parser(bytes: line, key: key)
        do {
            parser.skipWhitespace()
            guard parser.peek() == UInt8(ascii: "{") else {
                throw ParseError(message: "expected a JSON object", offset: parser.i)
            }
            try parser.value(depth: 0)
            parser.skipWhitespace()
            if parser.i != line.count { throw ParseError(message: "unexpected text after the JSON object", offset: parser.i) }
        } catch let e as ParseError {
            return .malformed(e.message, offset: e.offset)
        } catch {
            return .malformed("\(error)", offset: parser.i)
        }
        if let found = parser.found { return found }
        return .missingKey
    }

    private struct ParseError: Error { let message: String; let offset: Int }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let key: [UInt8]
        var i = 0
        var found: Result?

        init(bytes: UnsafeBufferPointer<UInt8>, key: [UInt8]) { self.bytes = bytes; self.key = key }

        func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipWhitespace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        func fail(_ message: String) -> ParseError { ParseError(message: message, offset: i) }

        mutating func value(depth: Int) throws {
            guard depth < 256 else { throw fail("nesting deeper than 256 levels") }
            skipWhitespace()
            guard let c = peek() else { throw fail("unexpected end of line (truncated JSON?)") }
            switch c {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string(decode: false)
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw fail("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }

        mutating func object(depth: Int) throws {
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                let name = try string(decode: true)
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                i += 1
                skipWhitespace()
                if depth == 0 && name == key {
                    let start = i
                    if peek() == UInt8(ascii: "\"") {
                        let text = try string(decode: true)
                        found = .string(text, valueRange: start..<i)
                    } else {
                        try value(depth: depth + 1)
                        found = .notAString(kind: Self.kind(of: bytes[start]))
                    }
                } else {
                    try value(depth: depth + 1)
                }
                skipWhitespace()
                guard let c = peek() else { throw fail("unexpected end of line inside an object (truncated JSON?)") }
                i += 1
                if c == UInt8(ascii: "}") { return }
                guard c == UInt8(ascii: ",") else { i -= 1; throw fail("expected ',' or '}' in an object") }
            }
        }

        mutating func array(depth: Int) throws {
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { i += 1; return }
            while true {
                try value(depth: depth + 1)
                skipWhitespace()
                guard let c = peek() else { throw fail("unexpected end of line inside an array (truncated JSON?)") }
                i += 1
                if c == UInt8(ascii: "]") { return }
                guard c == UInt8(ascii: ",") else { i -= 1; throw fail("expected ',' or ']' in an array") }
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { throw fail("unexpected end of line") }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
            i += n
        }

        mutating func number() throws {
            let start = i
            if peek() == UInt8(ascii: "-") { i += 1 }
            guard let d = peek(), d >= 48, d <= 57 else { throw fail("invalid number") }
            if d == 48 { i += 1 } else { digits() }
            if peek() == UInt8(ascii: ".") {
                i += 1
                guard let d = peek(), d >= 48, d <= 57 else { throw fail("invalid number") }
                digits()
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                i += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
                guard let d = peek(), d >= 48, d <= 57 else { throw fail("invalid number") }
                digits()
            }
            precondition(i > start)
        }

        mutating func digits() { while let d = peek(), d >= 48, d <= 57 { i += 1 } }

        /// Parses a string at `i` with the shared reader; returns its decoded bytes when `decode`,
        /// else `[]`. A lone surrogate becomes U+FFFD, as in a lossy decode.
        mutating func string(decode: Bool) throws -> [UInt8] {
            var out: [UInt8] = []
            do {
                try JSONString.read(bytes, at: &i, into: &out, decode: decode, loneSurrogates: .replace)
            } catch {
                throw ParseError(message: error.message, offset: error.offset)
            }
            return out
        }

        static func kind(of first: UInt8) -> String {
            switch first {
            case UInt8(ascii: "{"): return "an object"
            case UInt8(ascii: "["): return "an array"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
            case UInt8(ascii: "n"): return "null"
            default: return "a number"
            }
        }
    }
}
