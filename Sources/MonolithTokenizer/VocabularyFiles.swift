import Foundation
import MonolithKernels

/// Reading the pieces that the vocabulary formats share: whole files, JSON vocabularies
/// (token text → id) and merges lists, each error naming its file (and line).
enum VocabularyFiles {
    /// The bytes of `path`, or an error naming it.
    static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError(file: path, "no such file")
        }
        guard !isDirectory.boolValue else { throw TokenizerError(file: path, "is a directory, expected a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError(file: path, "cannot be read")
        }
        return [UInt8](data)
    }

    /// A JSON object of token text → id, as `encoder.json`, `vocab.json` and `model.vocab`.
    static func vocabulary(_ value: JSONValue, file: String, field: String = "the vocabulary") throws -> [(String, Int32)] {
        guard let members = value.members else { throw TokenizerError(file: file, "\(field) must be a JSON object of token → id") }
        var out: [(String, Int32)] = []
        out.reserveCapacity(members.count)
        for (token, v) in members {
            guard let id = v.int, id >= 0, id < Int(Int32.max) else {
                throw TokenizerError(file: file, "\(field): token \(JSONString.quoted(token)) has id \(v), expected a non-negative integer")
            }
            out.append((token, Int32(id)))
        }
        return out
    }

    /// One merge per line, "left right", after an optional `#version` line (`vocab.bpe`, `merges.txt`).
    static func mergesText(_ bytes: [UInt8], file: String) throws -> [(left: String, right: String, line: Int)] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = UTF8Text.firstInvalidOffset(bytes) ?? 0
            throw TokenizerError(file: file, "invalid UTF-8 at byte offset \(offset)")
        }
        var merges: [(left: String, right: String, line: Int)] = []
        var lineNumber = 0
        for var line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.isEmpty || (lineNumber == 1 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(file: file, line: lineNumber,
                                     "expected two tokens separated by one space, got \(JSONString.quoted(String(line)))")
            }
            merges.append((String(parts[0]), String(parts[1]), lineNumber))
        }
        return merges
    }

    /// Builds a model from a byte-level vocabulary and its merges (in rank order).
    /// `mergeLocation(i)` says where merge `i` came from, for errors.
    static func model(vocabulary: [(String, Int32)], vocabularyFile: String,
                      merges: [(left: String, right: String, line: Int)], mergesFile: String,
                      lineNumbers: Bool, addedTokens: [(String, Int32)], wholeWordShortcut: Bool,
                      preTokenizer: PreTokenizerKind = .gpt2, alwaysMatched: [(String, Int32)] = [],
                      allowsMissingBytes: Bool = false) throws -> BPEModel {
        var idOf: [String: Int32] = [:]
        idOf.reserveCapacity(vocabulary.count)
        var maxID: Int32 = -1
        for (token, id) in vocabulary {
            if let old = idOf[token], old != id {
                throw TokenizerError(file: vocabularyFile, "token \(JSONString.quoted(token)) appears twice (ids \(old) and \(id))")
            }
            idOf[token] = id
            maxID = max(maxID, id)
        }
        for (_, id) in addedTokens { maxID = max(maxID, id) }
        var tokens = [[UInt8]?](repeating: nil, count: Int(maxID) + 1)
        let added = Dictionary(addedTokens, uniquingKeysWith: { a, _ in a })
        for (token, id) in vocabulary {
            if added[token] == id { continue }
            guard let bytes = ByteLevel.decode(token) else {
                throw TokenizerError(file: vocabularyFile, "token \(JSONString.quoted(token)) (id \(id)) is not byte-level BPE text (GPT-2's byte alphabet) and is not a special token")
            }
            if tokens[Int(id)] != nil {
                throw TokenizerError(file: vocabularyFile, "id \(id) is used by two tokens")
            }
            tokens[Int(id)] = bytes
        }
        for (token, id) in addedTokens { tokens[Int(id)] = Array(token.utf8) }
        let pairs = PairTable(capacity: merges.count)
        var mergeList: [(Int32, Int32)] = []
        mergeList.reserveCapacity(merges.count)
        for (rank, m) in merges.enumerated() {
            func fail(_ message: String) -> TokenizerError {
                lineNumbers ? TokenizerError(file: mergesFile, line: m.line, message)
                    : TokenizerError(file: mergesFile, "merges[\(m.line)]: \(message)")
            }
            guard let a = idOf[m.left] else { throw fail("token \(JSONString.quoted(m.left)) is not in the vocabulary") }
            guard let b = idOf[m.right] else { throw fail("token \(JSONString.quoted(m.right)) is not in the vocabulary") }
            guard let ab = idOf[m.left + m.right] else {
                throw fail("the merged token \(JSONString.quoted(m.left + m.right)) is not in the vocabulary")
            }
            pairs.set(a, b, PairMerge(rank: UInt32(rank), token: ab))
            mergeList.append((a, b))
        }
        return try BPEModel(tokens: tokens, pairs: pairs, specialTokens: addedTokens,
                            wholeWordShortcut: wholeWordShortcut, file: vocabularyFile, preTokenizer: preTokenizer,
                            alwaysMatched: alwaysMatched, mergeList: mergeList, allowsMissingBytes: allowsMissingBytes)
    }
}
