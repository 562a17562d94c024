import MonolithKernels
import Foundation
import Testing
@testable import MonolithTokenizer

/// Paths of the committed fixtures (`scripts/make_tokenizer_fixtures.py`) and the shared data.
enum Fixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let directory = repository.appendingPathComponent("Tests/Fixtures/tokenizer").path
    static let sharedData = repository.deletingLastPathComponent().appendingPathComponent("shared/data").path
    static let gpt2 = sharedData + "/gpt2-tokenizer"

    static func bytes(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }

    static func json(_ name: String) throws -> JSONValue {
        try JSONValue.parse(bytes(directory + "/" + name), file: name)
    }

    /// A corpus of `manifest.json` and tiktoken's ids for it.
    struct Corpus: CustomTestStringConvertible, Sendable {
        let name: String
        let source: String
        let prefixBytes: Int
        let replaceInvalid: Bool
        let firstInvalidOffset: Int?
        var testDescription: String { name }

        /// The text the ids were made from.
        func text() throws -> String {
            let data = Array(Fixtures.bytes(Fixtures.sharedData + "/" + source).prefix(prefixBytes))
            return try UTF8Text.decode(data, file: source, replaceInvalid: replaceInvalid)
        }

        func expectedIDs() -> [Int32] {
            let raw = Fixtures.bytes(Fixtures.directory + "/\(name).u16")
            return stride(from: 0, to: raw.count - 1, by: 2).map { Int32(raw[$0]) | Int32(raw[$0 + 1]) << 8 }
        }
    }

    static let corpora: [Corpus] = {
        guard let root = try? json("manifest.json"), let list = root["corpora"]?.array else { return [] }
        return list.map {
            Corpus(name: $0["name"]!.string!, source: $0["source"]!.string!, prefixBytes: $0["prefix_bytes"]!.int!,
                   replaceInvalid: $0["replace_invalid"]!.bool!, firstInvalidOffset: $0["first_invalid_offset"]?.int)
        }
    }()

    struct TextCase: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let ids: [Int32]
        var testDescription: String { name }
    }

    static let edgeCases: [TextCase] = {
        guard let list = try? json("edge_cases.json").array else { return [] }
        return list.map {
            TextCase(name: $0["name"]!.string!, text: $0["text"]!.string!, ids: $0["ids"]!.array!.map { Int32($0.int!) })
        }
    }()

    static let decodeCases: [(ids: [Int32], text: String)] = {
        guard let list = try? json("decode_cases.json").array else { return [] }
        return list.map { ($0["ids"]!.array!.map { Int32($0.int!) }, $0["text"]!.string!) }
    }()

    /// A scratch directory unique to one test.
    static func temporaryDirectory(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "monolith-tokenizer-tests-\(getpid())/\(name)"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// GPT-2's tokenizer in each file format, loaded once for all tests.
enum GPT2Format: String, CaseIterable, Sendable {
    case openAI, huggingFace, tiktoken, tokenizerJSON

    var tokenizer: BPETokenizer { GPT2Format.loaded[self]! }

    private static let loaded: [GPT2Format: BPETokenizer] = {
        let d = Fixtures.gpt2
        var out: [GPT2Format: BPETokenizer] = [:]
        out[.openAI] = try! BPETokenizer.loadOpenAI(encoder: d + "/encoder.json", merges: d + "/vocab.bpe")
        out[.huggingFace] = try! BPETokenizer.loadHuggingFace(vocab: d + "/vocab.json", merges: d + "/merges.txt")
        out[.tiktoken] = try! BPETokenizer.loadTiktoken(d + "/r50k_base.tiktoken")
        out[.tokenizerJSON] = try! BPETokenizer.loadTokenizerJSON(gpt2TokenizerJSON())
        return out
    }()

    /// Writes GPT-2's vocabulary and merges as a Hugging Face tokenizer.json (with Monolith's
    /// writer; `check_trained_tokenizer.py` checks that Hugging Face reads that writer's files).
    private static func gpt2TokenizerJSON() throws -> String {
        let d = Fixtures.gpt2
        let vocab = try VocabularyFiles.vocabulary(JSONValue.parse(Fixtures.bytes(d + "/vocab.json"), file: "vocab.json"),
                                                  file: "vocab.json")
        var spellings = [String](repeating: "", count: vocab.count)
        for (s, id) in vocab { spellings[Int(id)] = s }
        let idOf = Dictionary(vocab, uniquingKeysWith: { a, _ in a })
        let merges = try VocabularyFiles.mergesText(Fixtures.bytes(d + "/merges.txt"), file: "merges.txt")
            .map { (idOf[$0.left]!, idOf[$0.right]!) }
        let bytes = spellings.map { ByteLevel.decode($0) ?? Array($0.utf8) }
        let trained = TrainedBPE(spellings: spellings, tokenBytes: bytes, merges: merges, specialTokens: ["<|endoftext|>"])
        let dir = Fixtures.temporaryDirectory("gpt2-json")
        try trained.write(to: dir)
        return dir + "/tokenizer.json"
    }
}
