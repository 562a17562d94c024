import Foundation

/// Finding and loading a tokenizer from a directory.
///
/// ```swift
/// let tokenizer = try Tokenizer.load(directory: "runs/tok")   // any TextTokenizer
/// ```
public enum Tokenizer {
    /// The files `load(directory:)` looks for, in order of preference.
    public static let searchOrder = [
        "tokenizer.json", "vocab.json + merges.txt", "encoder.json + vocab.bpe", "*.tiktoken", CharTokenizer.fileName,
    ]

    /// Loads the tokenizer in `directory`: a byte-level BPE from the first of `tokenizer.json`,
    /// `vocab.json` + `merges.txt`, `encoder.json` + `vocab.bpe`, or a single `*.tiktoken` file;
    /// else a character-level tokenizer from `char_tokenizer.json`.
    /// - Throws: `TokenizerError` naming the directory when nothing is found, or the file that is
    ///   corrupt.
    public static func load(directory: String) throws -> any TextTokenizer {
        if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(CharTokenizer.fileName)),
           (try? bpeFiles(in: directory)) == nil {
            return try CharTokenizer.load((directory as NSString).appendingPathComponent(CharTokenizer.fileName))
        }
        return try BPETokenizer.load(directory: directory)
    }

    /// Loads the tokenizer at `path`: a directory (as ``load(directory:)``), or one file: a
    /// tiktoken rank file (`*.tiktoken`, with `<|endoftext|>` after the last rank),
    /// `char_tokenizer.json`, or a Hugging Face `tokenizer.json` (any other `*.json`).
    /// - Throws: `TokenizerError` naming the path when it is missing or not a tokenizer file.
    public static func load(path: String) throws -> any TextTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError(file: path, "no such file or directory")
        }
        if isDirectory.boolValue { return try load(directory: path) }
        let name = (path as NSString).lastPathComponent
        if name.hasSuffix(".tiktoken") { return try BPETokenizer.loadTiktoken(path) }
        if name == CharTokenizer.fileName { return try CharTokenizer.load(path) }
        if name.hasSuffix(".json") { return try BPETokenizer.loadTokenizerJSON(path) }
        throw TokenizerError(file: path, "not a tokenizer file (expected a directory, *.tiktoken, tokenizer.json or \(CharTokenizer.fileName))")
    }

    enum BPEFiles {
        case tokenizerJSON(String)
        case vocabAndMerges(String, String)
        case openAI(String, String)
        case tiktoken(String)
    }

    static func bpeFiles(in directory: String) throws -> BPEFiles {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TokenizerError(file: directory, "no such directory")
        }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
        if exists("tokenizer.json") { return .tokenizerJSON(path("tokenizer.json")) }
        for (vocab, merges) in [("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")] {
            switch (exists(vocab), exists(merges)) {
            case (true, true):
                return vocab == "vocab.json" ? .vocabAndMerges(path(vocab), path(merges)) : .openAI(path(vocab), path(merges))
            case (true, false):
                throw TokenizerError(file: path(merges), "missing (\(vocab) is present; both are needed)")
            case (false, true):
                throw TokenizerError(file: path(vocab), "missing (\(merges) is present; both are needed)")
            default:
                continue
            }
        }
        let ranks = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".tiktoken") }.sorted()
        if ranks.count == 1 { return .tiktoken(path(ranks[0])) }
        if ranks.count > 1 {
            throw TokenizerError(file: directory, "several .tiktoken files (\(ranks.joined(separator: ", "))); load one explicitly")
        }
        throw TokenizerError(file: directory, "no tokenizer files (looked for \(searchOrder.joined(separator: ", ")))")
    }
}

extension BPETokenizer {
    /// Loads the byte-level BPE tokenizer in `directory`, preferring `tokenizer.json`, then
    /// `vocab.json` + `merges.txt`, `encoder.json` + `vocab.bpe`, and a single `*.tiktoken` file.
    public static func load(directory: String) throws -> BPETokenizer {
        switch try Tokenizer.bpeFiles(in: directory) {
        case .tokenizerJSON(let p): return try loadTokenizerJSON(p)
        case .vocabAndMerges(let v, let m): return try loadHuggingFace(vocab: v, merges: m)
        case .openAI(let e, let m): return try loadOpenAI(encoder: e, merges: m)
        case .tiktoken(let p): return try loadTiktoken(p)
        }
    }
}
