import Foundation
import MonolithTokenizer
@testable import MonolithData

/// A byte-level tokenizer for tests: one id per UTF-8 byte, `<|endoftext|>` = 256.
///
/// The data pipeline only sees `TextTokenizer`, so its tests need neither the GPT-2 vocabulary nor
/// the tokenizer module's progress; `decode(encode(s)) == s` makes round trips checkable.
struct ByteTokenizer: TextTokenizer {
    var vocabularySize: Int { 257 }
    var endOfText: Int32? { 256 }
    func encode(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }
    func decode(_ ids: [Int32]) -> String { String(decoding: ids.filter { $0 < 256 }.map { UInt8($0) }, as: UTF8.self) }
}

/// A byte tokenizer pretending to have a large vocabulary, to force int32 tokens.
struct WideByteTokenizer: TextTokenizer {
    var vocabularySize: Int { 100_000 }
    var endOfText: Int32? { 99_999 }
    func encode(_ text: String) -> [Int32] { text.utf8.map { Int32($0) + 70_000 } }
    func decode(_ ids: [Int32]) -> String { "" }
}

enum Paths {
    /// `Tests/` of the repository.
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    /// Megatron-core fixtures.
    static let megatron = tests.appendingPathComponent("Fixtures/megatron").path
    /// `../shared/data` beside the repository.
    static let shared = tests.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path
}

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "monolith-data-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ text: String) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }
    func write(_ name: String, bytes: [UInt8]) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
}

/// Decodes a JSON fixture file.
func loadFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    let data = try Data(contentsOf: URL(fileURLWithPath: Paths.megatron + "/" + name))
    return try JSONDecoder().decode(T.self, from: data)
}
