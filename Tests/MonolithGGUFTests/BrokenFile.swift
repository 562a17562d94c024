import Foundation

/// Broken copies of a good GGUF file for the validation tests.
enum BrokenFile {
    /// Writes `bytes` with each `(offset, replacement)` patched in, truncated to `length` if given,
    /// to a fresh temporary path.
    static func write(_ bytes: [UInt8], patches: [(Int, [UInt8])] = [], length: Int? = nil) throws -> String {
        var b = bytes
        for (offset, replacement) in patches { b.replaceSubrange(offset..<offset + replacement.count, with: replacement) }
        if let length { b = Array(b.prefix(length)) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID().uuidString).gguf").path
        try Data(b).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Little-endian bytes of `value`.
func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}
