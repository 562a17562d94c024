
extension JSONValue {
    /// Parses one JSON text. A syntax error names `file`, the line (`line` is the line the text
    /// starts on, for JSONL records) and the column.
    public static func parse(_ text: String, file: String, line: Int = 1) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse($0, file: file, line: line) }
    }

    /// Parses one JSON text from a byte array (see ``parse(_:file:line:)``).
    public static func parse(_ bytes: [UInt8], file: String, line: Int = 1) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try parse($0, file: file, line: line) }
    }

    /// Parses one JSON text from UTF-8 bytes (see ``parse(_:file:line:)``).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String, line: Int = 1) throws -> JSONValue {
        var parser = JSONTextParser(b: bytes, file: file, firstLine: line)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }
}

/// A recursive-descent parser that keeps integers apart from floats, as Python's `json` does.
private struct JSONTextParser {
    let b: UnsafeBufferPointer<UInt8>
    let file: String
    let firstLine: Int
    var i = 0

    init(b: UnsafeBufferPointer<UInt8>, file: String, firstLine: Int) {
        self.b = b; self.file = file; self.firstLine = firstLine
    }

    func error(_ message: String) -> JSONSyntaxError {
        var line = firstLine, column = 1
        for k in 0..<min(i, b.count) {
            if b[k] == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return JSONSyntaxError(file: file, line: line, "invalid JSON at column \(column): \(message)")
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 128 else { throw error("nesting deeper than 128 levels") }
        guard i < b.count else { throw error("unexpected end of the text") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .double(.nan)
        case UInt8(ascii: "I"): try literal("Infinity"); return .double(.infinity)
        default: return try number()
        }
    }

    mutating func literal(_ word: String) throws {
        for c in word.utf8 {
            guard i < b.count, b[i] == c else { throw error("expected a value") }
            i += 1
        }
    }

    mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        var members: [(key: String, value: JSONValue)] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            i += 1
            skipSpace()
            let v = try value(depth: depth + 1)
            // Python keeps the last of repeated keys, in the first one's place.
            if let k = members.firstIndex(where: { $0.key == key }) { members[k].value = v } else { members.append((key, v)) }
            skipSpace()
            guard i < b.count else { throw error("unexpected end of the text in an object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    mutating func array(depth: Int) throws -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard i < b.count else { throw error("unexpected end of the text in an array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func number() throws -> JSONValue {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "I") { try literal("Infinity"); return .double(-.infinity) }
        }
        var isFloat = false
        while i < b.count {
            let c = b[i]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { i += 1; continue }
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: "-") { isFloat = true; i += 1; continue }
            break
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        if !isFloat, let v = Int(text) { return .int(v) }
        guard i > start, let d = Double(text) else {
            i = start
            throw error("expected a value")
        }
        return .double(d)
    }

    /// A string literal through Monolith's shared reader; lone surrogates decode to U+FFFD, as a
    /// lossy decode of the Python string would.
    mutating func string() throws -> String {
        var out: [UInt8] = []
        do {
            try JSONString.read(b, at: &i, into: &out, loneSurrogates: .replace)
        } catch {
            i = error.offset
            throw self.error(error.message)
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
        return s
    }
}

/// Malformed JSON: the file (or request), the line and column, and what was expected.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    public let description: String

    /// `file:line: message`.
    public init(file: String, line: Int, _ message: String) { description = "\(file):\(line): \(message)" }
}
