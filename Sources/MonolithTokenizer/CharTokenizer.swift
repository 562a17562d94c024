import Foundation
import MonolithKernels

/// A character-level tokenizer, as nanoGPT's `shakespeare_char`: the vocabulary is the sorted
/// distinct Unicode scalars of the training text (Python's `sorted(set(text))`), id = position.
///
/// ```swift
/// let chars = CharTokenizer(trainingText: text)     // 65 characters for tinyshakespeare
/// try chars.save(to: "runs/char/char_tokenizer.json")
/// ```
///
/// Characters are Unicode scalars, not Swift `Character`s (grapheme clusters), to match Python.
/// The file is `{"type": "char", "chars": ["\n", " ", "!", …]}`.
public struct CharTokenizer: TextTokenizer {
    /// The file name `Tokenizer.load(directory:)` looks for.
    public static let fileName = "char_tokenizer.json"

    /// The vocabulary, sorted by scalar value.
    public let characters: [Unicode.Scalar]
    private let ids: [UInt32: Int32]

    /// A tokenizer over exactly these scalars (sorted and deduplicated here).
    public init<S: Sequence>(characters: S) where S.Element == Unicode.Scalar {
        let sorted = Set(characters).sorted { $0.value < $1.value }
        self.characters = sorted
        ids = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1.value, Int32($0)) })
    }

    /// The tokenizer of `text`'s distinct scalars.
    public init(trainingText text: String) {
        self.init(characters: text.unicodeScalars)
    }

    /// Number of distinct characters.
    public var vocabularySize: Int { characters.count }
    /// Always nil: nanoGPT's character vocabulary has no end-of-text token.
    public var endOfText: Int32? { nil }

    /// Ids of `text`'s scalars. Scalars outside the vocabulary are skipped: use
    /// `encodeChecked(_:)` to be told about them instead.
    public func encode(_ text: String) -> [Int32] {
        text.unicodeScalars.compactMap { ids[$0.value] }
    }

    /// Ids of `text`'s scalars.
    /// - Throws: `TokenizerError` naming the first scalar outside the vocabulary and its offset.
    public func encodeChecked(_ text: String) throws -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count)
        for (offset, s) in text.unicodeScalars.enumerated() {
            guard let id = ids[s.value] else {
                throw TokenizerError("character \(JSONString.quoted(String(s))) (U+\(String(s.value, radix: 16, uppercase: true))) at scalar offset \(offset) is not in the character vocabulary")
            }
            out.append(id)
        }
        return out
    }

    /// The text of `ids`; ids outside the vocabulary become U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        var s = String.UnicodeScalarView()
        for id in ids {
            s.append(id >= 0 && Int(id) < characters.count ? characters[Int(id)] : "\u{FFFD}")
        }
        return String(s)
    }

    /// Writes the vocabulary as JSON to `path`.
    public func save(to path: String) throws {
        let list = characters.map { JSONString.quoted(String($0)) }.joined(separator: ", ")
        let text = "{\"type\": \"char\", \"chars\": [\(list)]}\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw TokenizerError(file: path, "cannot be written")
        }
    }

    /// Reads a vocabulary written by `save(to:)`.
    public static func load(_ path: String) throws -> CharTokenizer {
        let root = try JSONValue.parse(VocabularyFiles.read(path), file: path)
        guard root["type"]?.string == "char", let list = root["chars"]?.array else {
            throw TokenizerError(file: path, "expected {\"type\": \"char\", \"chars\": [...]}")
        }
        var scalars: [Unicode.Scalar] = []
        for (i, v) in list.enumerated() {
            guard let s = v.string, s.unicodeScalars.count == 1 else {
                throw TokenizerError(file: path, "chars[\(i)] must be a string of one character")
            }
            scalars.append(s.unicodeScalars.first!)
        }
        guard Set(scalars.map(\.value)).count == scalars.count else {
            throw TokenizerError(file: path, "chars lists a character twice")
        }
        return CharTokenizer(characters: scalars)
    }
}
