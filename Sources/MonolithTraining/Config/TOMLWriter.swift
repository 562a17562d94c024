/// Writes a configuration (tables of scalars and lists, such as ``JobConfig``) as TOML text, keys
/// in declaration order, numbers in the shortest spelling that reads back to the same value.
///
/// A `Float` field set to `0.95` prints `0.95`, from the `Float`'s own `description`. (TOMLKit's
/// encoder widens it to `Double` first and prints `0.94999998807907104`.)
///
/// ```swift
/// let text = try TOMLWriter.encode(JobConfig())   // "[model]\nn_layer = 4\n…"
/// ```
public enum TOMLWriter {
    /// The TOML text of `value`, whose top level must encode as a table.
    public static func encode(_ value: some Encodable) throws -> String {
        let root = Slot()
        try fill(root, with: value, codingPath: [])
        guard case .table = root.content else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "the top level of a TOML document must be a table"))
        }
        var out: [String] = []
        try render(root, header: [], into: &out)
        return out.joined(separator: "\n") + "\n"
    }

    /// A node of the document being built: a scalar already spelled in TOML, a table or a list.
    final class Slot {
        enum Content { case empty, scalar(String), table, array }
        var content = Content.empty
        var entries: [(key: String, slot: Slot)] = []
        var items: [Slot] = []
    }

    static func fill(_ slot: Slot, with value: some Encodable, codingPath: [any CodingKey]) throws {
        switch value {
        case let v as Float: slot.content = .scalar(v.description)
        case let v as Double: slot.content = .scalar(v.description)
        case let v as String: slot.content = .scalar(quote(v))
        case let v as Bool: slot.content = .scalar(v ? "true" : "false")
        case let v as any BinaryInteger: slot.content = .scalar("\(v)")
        default: try value.encode(to: SlotEncoder(slot: slot, codingPath: codingPath))
        }
    }

    static func render(_ table: Slot, header: [String], into out: inout [String]) throws {
        var body: [String] = []
        for (key, slot) in table.entries {
            switch slot.content {
            case .table: continue
            case .empty: body.append("\(bareOrQuoted(key)) = {}")
            default:
                let value = try inline(slot, key: key)
                body.append("\(bareOrQuoted(key)) = \(value)")
            }
        }
        if !header.isEmpty {
            if !out.isEmpty { out.append("") }
            out.append("[" + header.map(bareOrQuoted).joined(separator: ".") + "]")
        }
        out += body
        for (key, slot) in table.entries {
            if case .table = slot.content { try render(slot, header: header + [key], into: &out) }
        }
    }

    static func inline(_ slot: Slot, key: String) throws -> String {
        switch slot.content {
        case .scalar(let s): return s
        case .array: return "[" + (try slot.items.map { try inline($0, key: key) }).joined(separator: ", ") + "]"
        case .empty, .table:
            throw EncodingError.invalidValue(key, .init(codingPath: [], debugDescription: "\(key): tables inside lists are not supported"))
        }
    }

    /// A TOML basic string.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where u.value < 0x20 || u.value == 0x7F:
                let hex = String(u.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func bareOrQuoted(_ key: String) -> String {
        let bare = !key.isEmpty && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? key : quote(key)
    }
}

private struct SlotEncoder: Encoder {
    let slot: TOMLWriter.Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        slot.content = .table
        return KeyedEncodingContainer(KeyedSlots<Key>(slot: slot, codingPath: codingPath))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        slot.content = .array
        return UnkeyedSlots(slot: slot, codingPath: codingPath)
    }
    func singleValueContainer() -> any SingleValueEncodingContainer { SingleSlot(slot: slot, codingPath: codingPath) }
}

private struct KeyedSlots<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: TOMLWriter.Slot
    let codingPath: [any CodingKey]

    func child(_ key: Key) -> TOMLWriter.Slot {
        let s = TOMLWriter.Slot()
        slot.entries.append((key.stringValue, s))
        return s
    }
    func put(_ v: some Encodable, _ key: Key) throws { try TOMLWriter.fill(child(key), with: v, codingPath: codingPath + [key]) }

    mutating func encodeNil(forKey key: Key) throws {
        throw EncodingError.invalidValue(Optional<Int>.none as Any, .init(codingPath: codingPath + [key], debugDescription: "TOML has no null"))
    }
    mutating func encode(_ v: Bool, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: String, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Double, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Float, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Int, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { try put(v, key) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { try put(v, key) }
    mutating func encode<T: Encodable>(_ v: T, forKey key: Key) throws { try put(v, key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        SlotEncoder(slot: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        SlotEncoder(slot: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { SlotEncoder(slot: child(Key(stringValue: "super")!), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { SlotEncoder(slot: child(key), codingPath: codingPath + [key]) }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue!)" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedSlots: UnkeyedEncodingContainer {
    let slot: TOMLWriter.Slot
    let codingPath: [any CodingKey]
    var count: Int { slot.items.count }

    func child() -> (TOMLWriter.Slot, [any CodingKey]) {
        let s = TOMLWriter.Slot()
        slot.items.append(s)
        return (s, codingPath + [IndexKey(slot.items.count - 1)])
    }
    mutating func encodeNil() throws {
        throw EncodingError.invalidValue(Optional<Int>.none as Any, .init(codingPath: codingPath, debugDescription: "TOML has no null"))
    }
    mutating func encode<T: Encodable>(_ v: T) throws {
        let (s, path) = child()
        try TOMLWriter.fill(s, with: v, codingPath: path)
    }
    mutating func encode(_ v: Bool) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: String) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Double) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Float) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Int) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Int8) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Int16) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Int32) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: Int64) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: UInt) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: UInt8) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: UInt16) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: UInt32) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func encode(_ v: UInt64) throws { let (s, path) = child(); try TOMLWriter.fill(s, with: v, codingPath: path) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let (s, path) = child()
        return SlotEncoder(slot: s, codingPath: path).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let (s, path) = child()
        return SlotEncoder(slot: s, codingPath: path).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let (s, path) = child()
        return SlotEncoder(slot: s, codingPath: path)
    }
}

private struct SingleSlot: SingleValueEncodingContainer {
    let slot: TOMLWriter.Slot
    let codingPath: [any CodingKey]
    mutating func encodeNil() throws {
        throw EncodingError.invalidValue(Optional<Int>.none as Any, .init(codingPath: codingPath, debugDescription: "TOML has no null"))
    }
    mutating func encode<T: Encodable>(_ v: T) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Bool) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: String) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Double) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Float) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Int) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Int8) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Int16) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Int32) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: Int64) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: UInt) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: UInt8) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: UInt16) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: UInt32) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
    mutating func encode(_ v: UInt64) throws { try TOMLWriter.fill(slot, with: v, codingPath: codingPath) }
}
