/// A JSON value as Python's `json` module sees it: integers and floats are distinct (so a record
/// written back keeps `"gold": 1`, not `1.0`), objects keep their key order (so a logged document
/// reads as its source line), and equality is Python's `==` on the decoded values (key order does
/// not matter, `1 == 1.0 == True`), which is what lm-eval's few-shot sampler uses to leave the
/// evaluated document out of its own examples.
///
/// ```swift
/// let doc = try JSONValue.parse(#"{"goal": "x", "label": 1}"#, file: "piqa.jsonl", line: 3)
/// doc["label"]?.int        // 1
/// doc.pythonJSON           // {"goal": "x", "label": 1}
/// ```
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            guard x.count == y.count else { return false }
            // Python dicts compare as mappings: same keys, equal values, any order.
            for (key, value) in x {
                guard let other = y.first(where: { $0.key == key }), other.value == value else { return false }
            }
            return true
        default:
            if let x = a.numeric, let y = b.numeric { return x == y }
            return false
        }
    }

    /// The value of a number or boolean as Python compares it (`True == 1`).
    var numeric: Double? {
        switch self {
        case .bool(let v): return v ? 1 : 0
        case .int(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.key == key }?.value }
        return nil
    }

    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The elements, if this is an array.
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    /// The members in file order, if this is an object.
    public var members: [(key: String, value: JSONValue)]? { if case .object(let m) = self { return m } else { return nil } }
    /// The integer, if this is an integer (or a float with no fractional part, as `1.0`).
    public var int: Int? {
        switch self {
        case .int(let v): return v
        case .double(let d) where d == d.rounded() && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }
    /// The number as a double, if this is a number.
    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }

    /// What kind of value this is, for error messages ("a string", "an array", …).
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// A short excerpt of the value as JSON, for error messages.
    public var excerpt: String {
        let text = pythonJSON
        return text.unicodeScalars.count <= 60 ? text : String(String.UnicodeScalarView(text.unicodeScalars.prefix(57))) + "..."
    }
}
