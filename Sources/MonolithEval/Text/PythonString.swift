/// Python `str` operations that lm-eval's prompts rely on, on Unicode scalars (Python's code
/// points) rather than Swift's grapheme clusters: `"a\u{301}"` is one `Character` but two
/// Python characters, and `len(choice)` (the `acc_norm` denominator) counts code points.
public enum PythonString {
    /// `str.isspace()` for one code point: the Unicode White_Space characters plus the
    /// information separators U+001C–U+001F (bidirectional class B or S), as CPython's table.
    public static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `len(text)`: the number of code points.
    public static func length(_ text: String) -> Int { text.unicodeScalars.count }

    /// `text.strip()`.
    public static func strip(_ text: String) -> String { rstrip(lstrip(text)) }

    /// `text.lstrip()`.
    public static func lstrip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...])
    }

    /// `text.rstrip()`.
    public static func rstrip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[...last])
    }

    /// `text.split(separator)` with a one-character separator: empty fields are kept
    /// (`"a  b".split(" ")` is `["a", "", "b"]`).
    public static func split(_ text: String, on separator: Unicode.Scalar) -> [String] {
        var parts: [String] = [], current = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s == separator { parts.append(String(current)); current = String.UnicodeScalarView() } else { current.append(s) }
        }
        parts.append(String(current))
        return parts
    }

    /// `text.replace(old, new)`: non-overlapping occurrences, left to right, matched on UTF-8
    /// bytes (code point boundaries coincide, so this equals Python's code point match).
    public static func replace(_ text: String, _ old: String, with new: String) -> String {
        let t = Array(text.utf8), o = Array(old.utf8), n = Array(new.utf8)
        guard !o.isEmpty, t.count >= o.count else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(t.count)
        var i = 0
        while i < t.count {
            if i + o.count <= t.count, t[i] == o[0], Array(t[i..<(i + o.count)]) == o {
                out.append(contentsOf: n); i += o.count
            } else {
                out.append(t[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `re.sub(r"\[.*?\]", "", text)`: removes every shortest `[…]` that holds no newline
    /// (`.` does not match one), scanning left to right.
    public static func removeBracketed(_ text: String) -> String {
        let t = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(t.count)
        var i = 0
        while i < t.count {
            if t[i] == UInt8(ascii: "[") {
                var j = i + 1
                while j < t.count, t[j] != UInt8(ascii: "]"), t[j] != 0x0A { j += 1 }
                if j < t.count, t[j] == UInt8(ascii: "]") { i = j + 1; continue }
            }
            out.append(t[i]); i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `text.capitalize()` (Python 3.8+): the first code point in title case, the rest in lower
    /// case, by the full Unicode case mappings.
    public static func capitalize(_ text: String) -> String {
        var out = ""
        for (k, s) in text.unicodeScalars.enumerated() {
            out += k == 0 ? s.properties.titlecaseMapping : s.properties.lowercaseMapping
        }
        return out
    }
}
