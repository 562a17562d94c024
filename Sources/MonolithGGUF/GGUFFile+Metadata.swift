/// Typed metadata lookups that throw a ``GGUFError`` naming the file, the key and what was found,
/// for keys a loader cannot do without.
///
/// ```swift
/// let layers = try file.int("llama.block_count")
/// let tokens = try file.stringArray("tokenizer.ggml.tokens")
/// ```
extension GGUFFile {
    /// `general.architecture`, e.g. `"llama"`.
    public var architecture: String? { metadata["general.architecture"]?.string }

    /// The value of `key`; throws if the key is missing.
    public func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw GGUFError(path, "metadata key '\(key)' is missing") }
        return v
    }

    /// An integer value (any integer type that fits `Int`).
    public func int(_ key: String) throws -> Int {
        try typed(key, "an integer") { $0.int }
    }

    /// A float value (FLOAT32, FLOAT64, or an integer exactly representable).
    public func float(_ key: String) throws -> Float {
        try typed(key, "a number") { $0.float }
    }

    /// A BOOL value.
    public func bool(_ key: String) throws -> Bool {
        try typed(key, "a BOOL") { $0.bool }
    }

    /// A STRING value.
    public func string(_ key: String) throws -> String {
        try typed(key, "a STRING") { $0.string }
    }

    /// An ARRAY of STRING.
    public func stringArray(_ key: String) throws -> [String] {
        try typed(key, "an ARRAY of STRING") { $0.stringArray }
    }

    /// An ARRAY of integers.
    public func intArray(_ key: String) throws -> [Int] {
        try typed(key, "an ARRAY of integers") { $0.intArray }
    }

    /// An ARRAY of numbers.
    public func floatArray(_ key: String) throws -> [Float] {
        try typed(key, "an ARRAY of numbers") { $0.floatArray }
    }

    private func typed<T>(_ key: String, _ expected: String, _ convert: (GGUFValue) -> T?) throws -> T {
        let v = try value(key)
        guard let t = convert(v) else {
            let found = v.elementType.map { "ARRAY of \($0.name)" } ?? v.type.name
            throw GGUFError(path, "metadata key '\(key)' should be \(expected), found \(found) \(v)")
        }
        return t
    }
}
