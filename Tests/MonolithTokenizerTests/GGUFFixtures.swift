import MonolithKernels
import Foundation
import MonolithGGUF
import MonolithTestSupport
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

    /// SmolLM2's GGUF in the user cache (`monolith fetch smollm2-135m-instruct`, which
    /// `scripts/test` runs first).
    static let smolLM2Path = cachedAsset("SmolLM2-135M-Instruct.Q4_1.gguf")

    /// Why SmolLM2's tests are skipped, shown by `swift test`.
    static let smolLM2Missing = Comment(rawValue: "SmolLM2 is not in the cache: run `monolith fetch smollm2-135m-instruct`")

    /// SmolLM2's metadata and the model's vocabulary size, or nil when the file is absent.
    static let smolLM2: (vocabulary: GGUFVocabulary, vocabularySize: Int)? = {
        guard let path = smolLM2Path, let file = try? GGUFFile(path: path), let v = try? GGUFVocabulary(file: file),
              let size = file.metadata["llama.vocab_size"]?.int else { return nil }
        return (v, size)
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
