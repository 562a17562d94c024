
extension JSONValue {
    /// The value as Python's `json.dumps(value, ensure_ascii=False)` writes it: `", "` and `": "`
    /// separators, keys in order, floats as `repr` writes them (`0.1`, `1e-05`, `NaN`).
    public var pythonJSON: String {
        var out: [UInt8] = []
        write(to: &out, indent: nil, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The value as `json.dumps(value, indent: indent, ensure_ascii=False)` writes it (lm-eval's
    /// results file uses `indent=2`).
    public func pythonJSON(indent: Int) -> String {
        var out: [UInt8] = []
        write(to: &out, indent: indent, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    func write(to out: inout [UInt8], indent: Int?, level: Int) {
        func newline(_ level: Int) {
            guard let indent else { return }
            out.append(0x0A)
            out.append(contentsOf: repeatElement(0x20, count: indent * level))
        }
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
        case .int(let v): out.append(contentsOf: String(v).utf8)
        case .double(let v): out.append(contentsOf: pythonFloatRepr(v).utf8)
        case .string(let s):
            var s = s
            s.withUTF8 { JSONString.appendQuoted($0, to: &out) }
        case .array(let items):
            guard !items.isEmpty else { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")); if indent == nil { out.append(0x20) } }
                newline(level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (k, member) in members.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")); if indent == nil { out.append(0x20) } }
                newline(level + 1)
                var key = member.key
                key.withUTF8 { JSONString.appendQuoted($0, to: &out) }
                out.append(contentsOf: ": ".utf8)
                member.value.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// `repr(float)` as CPython writes it: the shortest digits that read back the same value (Swift's
/// `description` finds those too), in positional notation for exponents −4 through 15 and as
/// `d.ddde±XX` outside; `NaN`, `Infinity` and `-Infinity` as `json.dumps` spells them.
public func pythonFloatRepr(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
    if v == 0 { return v.sign == .minus ? "-0.0" : "0.0" }
    // Shortest round-trip digits and decimal exponent from Swift's description.
    let text = v.magnitude.description
    var mantissa = text, exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(text[..<e])
        exponent = Int(text[text.index(after: e)...])!
    }
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = String(parts[0]), fracPart = parts.count > 1 ? String(parts[1]) : ""
    var digits = intPart + fracPart
    var pointPos = intPart.count + exponent  // the decimal point sits after `pointPos` digits
    // Strip leading zeros (e.g. "0.001"), adjusting the point.
    while digits.count > 1, digits.first == "0" { digits.removeFirst(); pointPos -= 1 }
    while digits.count > 1, digits.last == "0" { digits.removeLast() }
    let decimalExponent = pointPos - 1  // scientific exponent of the first digit
    var out = v.sign == .minus ? "-" : ""
    if decimalExponent < -4 || decimalExponent >= 16 {
        out += String(digits.first!)
        if digits.count > 1 { out += "." + digits.dropFirst() }
        out += "e" + (decimalExponent < 0 ? "-" : "+")
        let magnitude = String(abs(decimalExponent))
        out += (magnitude.count < 2 ? "0" : "") + magnitude
    } else if pointPos <= 0 {
        out += "0." + String(repeating: "0", count: -pointPos) + digits
    } else if pointPos >= digits.count {
        out += digits + String(repeating: "0", count: pointPos - digits.count) + ".0"
    } else {
        let k = digits.index(digits.startIndex, offsetBy: pointPos)
        out += digits[..<k] + "." + digits[k...]
    }
    return out
}
