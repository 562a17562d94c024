import MonolithKernels

/// A minimal JSON value and parser for tokenizer files.
///
/// Foundation's `JSONSerialization` reports errors without a file position and returns untyped
/// dictionaries; tokenizer files are large (a GPT-2 `tokenizer.json` is 2 MB) and often edited by
/// hand, so errors here say the line and column. Objects keep their key order, which is how
/// `vocab.json` files are conventionally written (by id).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.key == key }?.value }
        return nil
    }

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var members: [(key: String, value: JSONValue)]? { if case .object(let m) = self { return m } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var isNull: Bool { self == .null }

    /// The value as an integer, if it is a number without a fractional part.
    var int: Int? {
        if case .number(let d) = self, d == d.rounded(), abs(d) < 9.0e15 { return Int(d) }
        return nil
    }

    /// Parses `bytes`; a syntax error names `file`, line and column.
    static func parse(_ bytes: [UInt8], file: String) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf in
            var parser = JSONParser(buf, file: file)
            parser.skipSpace()
            let v = try parser.value(depth: 0)
            parser.skipSpace()
            if parser.i != buf.count { throw parser.error("unexpected text after the JSON value") }
            return v
        }
    }
}

private struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    let file: String
    var i = 0

    init(_ b: UnsafeBufferPointer<UInt8>, file: String) {
        self.b = b
        self.file = file
    }

    func error(_ message: String) -> TokenizerError {
        var line = 1, column = 1
        for k in 0..<min(i, b.count) {
            if b[k] == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return TokenizerError(file: file, line: line, "invalid JSON at column \(column): \(message)")
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 64 else { throw error("nesting deeper than 64 levels") }
        guard i < b.count else { throw error("unexpected end of file") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws {
        for c in word.utf8 {
            guard i < b.count, b[i] == c else { throw error("expected '\(word)'") }
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
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard i < b.count else { throw error("unexpected end of file in an object") }
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
            guard i < b.count else { throw error("unexpected end of file in an array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func number() throws -> Double {
        let start = i
        while i < b.count, let c = Optional(b[i]),
              (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            i += 1
        }
        guard i > start, let d = Double(String(decoding: b[start..<i], as: UTF8.self)) else {
            i = start
            throw error("expected a value")
        }
        return d
    }

    /// The string literal at `i` (its opening quote), by the shared reader; a lone surrogate is
    /// an error (no token can hold one), and so are bytes that are not UTF-8.
    mutating func string() throws -> String {
        var out: [UInt8] = []
        do {
            try JSONString.read(b, at: &i, into: &out, loneSurrogates: .reject)
        } catch {
            i = error.offset
            throw self.error(error.message)
        }
        guard let str = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return str
    }
}
