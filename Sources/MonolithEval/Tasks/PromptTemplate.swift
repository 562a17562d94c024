import MonolithKernels
/// A prompt template of a user task file: text with `{field}` placeholders filled from a record.
/// `{a.b}` reads a nested field and `{a.0}` a list element; `{{` and `}}` are literal braces.
/// Strings are inserted as they are, numbers as Python's `str()` writes them.
///
/// ```swift
/// let t = try PromptTemplate("Question: {goal}\nAnswer:", origin: "task.toml:4")
/// try t.render(RecordFields(record, file: "piqa.jsonl", line: 1))   // "Question: …\nAnswer:"
/// ```
public struct PromptTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable { case text(String), field([String]) }
    let pieces: [Piece]
    /// Where the template was written (`file:line`), for messages.
    public let origin: String

    /// Parses `text`; an unclosed `{` or a stray `}` is an error at `origin`.
    public init(_ text: String, origin: String) throws {
        self.origin = origin
        var pieces: [Piece] = [], literal = "", scalars = Array(text.unicodeScalars), i = 0
        func flush() { if !literal.isEmpty { pieces.append(.text(literal)); literal = "" } }
        while i < scalars.count {
            let s = scalars[i]
            if s == "{" {
                if i + 1 < scalars.count, scalars[i + 1] == "{" { literal.unicodeScalars.append("{"); i += 2; continue }
                guard let close = scalars[(i + 1)...].firstIndex(of: "}") else {
                    throw EvalError("\(origin): template \(JSONValue.string(text).excerpt): '{' at character \(i + 1) is never closed")
                }
                let name = String(String.UnicodeScalarView(scalars[(i + 1)..<close]))
                let path = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard !name.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
                    throw EvalError("\(origin): template \(JSONValue.string(text).excerpt): empty placeholder name in '{\(name)}'")
                }
                flush()
                pieces.append(.field(path))
                i = close + 1
            } else if s == "}" {
                guard i + 1 < scalars.count, scalars[i + 1] == "}" else {
                    throw EvalError("\(origin): template \(JSONValue.string(text).excerpt): stray '}' at character \(i + 1) (write '}}' for a brace)")
                }
                literal.unicodeScalars.append("}"); i += 2
            } else {
                literal.unicodeScalars.append(s); i += 1
            }
        }
        flush()
        self.pieces = pieces
    }

    /// The field names the template reads (first path component).
    public var fields: [String] {
        pieces.compactMap { if case .field(let p) = $0 { return p[0] } else { return nil } }
    }

    /// The template filled from `record`; a missing field or a value that is not text or a number
    /// is an error at the record's line that names the template's origin.
    public func render(_ record: RecordFields) throws -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .text(let t): out += t
            case .field(let path):
                var value = record.record
                for (depth, component) in path.enumerated() {
                    let name = path[...depth].joined(separator: ".")
                    if let index = Int(component), let items = value.array {
                        guard items.indices.contains(index) else {
                            throw record.error("field \"\(name)\" (used by the template at \(origin)): index \(index) is out of range for \(items.count) elements")
                        }
                        value = items[index]
                    } else if let next = value[component] {
                        value = next
                    } else {
                        let hint = depth == 0 ? " (the record has: \(record.keyList))" : ""
                        throw record.error("missing field \"\(name)\" (used by the template at \(origin))\(hint)")
                    }
                }
                out += try Self.text(of: value, name: path.joined(separator: "."), record: record)
            }
        }
        return out
    }

    /// A value as Python's `str()` writes it into an f-string.
    static func text(of value: JSONValue, name: String, record: RecordFields) throws -> String {
        switch value {
        case .string(let s): return s
        case .int(let v): return String(v)
        case .double(let v): return pythonFloatRepr(v).replacingOccurrences(of: "Infinity", with: "inf").replacingOccurrences(of: "NaN", with: "nan")
        case .bool(let v): return v ? "True" : "False"
        default: throw record.error("field \"\(name)\": expected text or a number to insert in a template, got \(value.kindName)")
        }
    }
}
