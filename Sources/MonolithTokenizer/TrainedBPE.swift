import Foundation
import MonolithKernels

/// The result of `BPETrainer.train`: a vocabulary and merge list, usable directly or written in
/// Hugging Face's formats.
public struct TrainedBPE: Sendable {
    /// The vocabulary spelling of each id: GPT-2 byte-level text, or a special token's text.
    public let spellings: [String]
    /// The bytes of each id.
    public let tokenBytes: [[UInt8]]
    /// Merges in rank order, as pairs of ids.
    public let merges: [(Int32, Int32)]
    /// Special tokens (their ids come first).
    public let specialTokens: [String]

    /// Vocabulary size.
    public var vocabularySize: Int { spellings.count }

    /// Ids of the special tokens.
    var specialIDs: [(String, Int32)] {
        specialTokens.compactMap { s in spellings.firstIndex(of: s).map { (s, Int32($0)) } }
    }

    /// A tokenizer with this vocabulary, equal to loading the files `write(to:)` makes.
    public func tokenizer() throws -> BPETokenizer {
        let pairs = PairTable(capacity: merges.count)
        let idOf = Dictionary(spellings.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
        for (rank, (a, b)) in merges.enumerated() {
            guard let ab = idOf[spellings[Int(a)] + spellings[Int(b)]] else { continue }
            pairs.set(a, b, PairMerge(rank: UInt32(rank), token: ab))
        }
        let model = try BPEModel(tokens: tokenBytes, pairs: pairs, specialTokens: specialIDs,
                                 wholeWordShortcut: false, file: "<trained>", mergeList: merges)
        return BPETokenizer(model: model, source: "<trained>")
    }

    /// Writes `tokenizer.json` (Hugging Face: BPE model, ByteLevel pre-tokenizer and decoder,
    /// special tokens as added tokens), `vocab.json` and `merges.txt` into `directory`, creating it.
    public func write(to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TokenizerError(file: directory, "cannot create the directory: \(error.localizedDescription)")
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let vocab = vocabularyJSON(indent: "  ")
        let mergeLines = merges.map { "\(spellings[Int($0.0)]) \(spellings[Int($0.1)])" }
        try save("#version: 0.2\n" + mergeLines.map { $0 + "\n" }.joined(), to: path("merges.txt"))
        try save(vocabularyJSON(indent: "") + "\n", to: path("vocab.json"))
        try save(tokenizerJSON(vocabulary: vocab), to: path("tokenizer.json"))
    }

    private func save(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw TokenizerError(file: path, "cannot be written")
        }
    }

    /// `{"token": id, …}` in id order.
    func vocabularyJSON(indent: String) -> String {
        if indent.isEmpty {
            return "{" + spellings.enumerated().map { "\(JSONString.quoted($1)):\($0)" }.joined(separator: ",") + "}"
        }
        let lines = spellings.enumerated().map { "\(indent)  \(JSONString.quoted($1)): \($0)" }
        return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
    }

    func tokenizerJSON(vocabulary: String) -> String {
        let added = specialIDs.map { s, id in
            """
                {"id": \(id), "content": \(JSONString.quoted(s)), "single_word": false, "lstrip": false, \
            "rstrip": false, "normalized": false, "special": true}
            """
        }.joined(separator: ",\n")
        let mergeList = merges.map { "[\(JSONString.quoted(spellings[Int($0.0)])), \(JSONString.quoted(spellings[Int($0.1)]))]" }
        let byteLevel = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}"
        return """
            {
              "version": "1.0",
              "truncation": null,
              "padding": null,
              "added_tokens": [
            \(added)
              ],
              "normalizer": null,
              "pre_tokenizer": \(byteLevel),
              "post_processor": null,
              "decoder": \(byteLevel),
              "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": null,
                "continuing_subword_prefix": null,
                "end_of_word_suffix": null,
                "fuse_unk": false,
                "byte_fallback": false,
                "ignore_merges": false,
                "vocab": \(vocabulary),
                "merges": [
                  \(mergeList.joined(separator: ",\n      "))
                ]
              }
            }

            """
    }
}
