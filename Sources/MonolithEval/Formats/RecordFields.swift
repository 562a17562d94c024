import MonolithKernels
/// Typed access to one record's fields, with errors that name the file, line and field and say
/// what was expected: `boolq.jsonl:7: field "label": expected an integer 0 or 1, got "yes"`.
public struct RecordFields {
    /// The record.
    public let record: JSONValue
    /// Where it is, for messages.
    public let file: String, line: Int

    public init(_ record: JSONValue, file: String, line: Int) {
        self.record = record; self.file = file; self.line = line
    }

    /// An error at this record.
    public func error(_ message: String) -> EvalError { EvalError(file: file, line: line, message) }

    /// The keys the record has, for "missing field" messages.
    var keyList: String { (record.members ?? []).map(\.key).joined(separator: ", ") }

    /// The value of `key` (a dotted path such as `choices.text` reads nested objects), or an
    /// error naming the fields the record does have.
    public func value(_ key: String) throws -> JSONValue {
        guard record.members != nil else { throw error("expected a JSON object, got \(record.kindName)") }
        var v = record
        for (depth, part) in key.split(separator: ".", omittingEmptySubsequences: false).enumerated() {
            guard let next = v[String(part)] else {
                throw error("missing field \"\(key)\"" + (depth == 0 ? " (the record has: \(keyList))" : ""))
            }
            v = next
        }
        return v
    }

    /// The string field `key`.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.string else { throw error("field \"\(key)\": expected a string, got \(v.kindName) \(v.excerpt)") }
        return s
    }

    /// The list-of-strings field `key` (at least one element).
    public func strings(_ key: String) throws -> [String] {
        let v = try value(key)
        guard let items = v.array else { throw error("field \"\(key)\": expected a list of strings, got \(v.kindName) \(v.excerpt)") }
        guard !items.isEmpty else { throw error("field \"\(key)\": expected at least one choice, got an empty list") }
        return try items.enumerated().map { k, item in
            guard let s = item.string else {
                throw error("field \"\(key)\"[\(k)]: expected a string, got \(item.kindName) \(item.excerpt)")
            }
            return s
        }
    }

    /// The integer field `key`; a string of decimal digits (`"3"`, as HellaSwag's labels) counts.
    public func integer(_ key: String) throws -> Int {
        let v = try value(key)
        if let i = v.int { return i }
        if let s = v.string, let i = Int(s) { return i }
        throw error("field \"\(key)\": expected an integer, got \(v.kindName) \(v.excerpt)")
    }

    /// A gold index from field `key`, checked against the number of choices.
    public func goldIndex(_ key: String, choices: Int) throws -> Int {
        let gold = try integer(key)
        guard (0..<choices).contains(gold) else {
            throw error("field \"\(key)\": gold index \(gold) is out of range for \(choices) choices (expected 0...\(choices - 1))")
        }
        return gold
    }

    /// Whether the record has every one of `keys`.
    public func has(_ keys: [String]) -> Bool { keys.allSatisfy { record[$0] != nil } }
}
