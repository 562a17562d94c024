import Foundation

/// Scores already computed, keyed by (model, request): one append-only text file per model
/// fingerprint in a cache directory, one line per request — the SHA-256 of its tokens and
/// continuation length, the log-likelihood (shortest round-trip decimal) and `0`/`1` for greedy.
/// A re-run of the same evaluation reads every score back and runs nothing.
///
/// A torn last line (a killed run) is skipped when read.
public final class LoglikelihoodCache {
    /// The cache file of this model.
    public let path: String
    var entries: [String: TokenScore] = [:]
    var pending: [UInt8] = []

    /// Opens (creating when missing) the cache of model `fingerprint` under `directory`.
    public init(directory: String, fingerprint: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EvalError("--cache-dir \(directory): cannot create the directory (\(error.localizedDescription))")
        }
        path = (directory as NSString).appendingPathComponent("loglikelihood-\(fingerprint.prefix(32)).tsv")
        if let data = FileManager.default.contents(atPath: path) {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let f = line.split(separator: "\t")
                guard f.count == 3, f[0].count == 64, let ll = Double(f[1]), f[2] == "0" || f[2] == "1" else { continue }
                entries[String(f[0])] = TokenScore(logLikelihood: ll, isGreedy: f[2] == "1")
            }
        }
    }

    /// Scores held.
    public var count: Int { entries.count }

    /// The cache key of a request.
    public static func key(_ r: TokenizedRequest) -> String {
        var sha = SHA256()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 * r.tokens.count + 8)
        for t in r.tokens { withUnsafeBytes(of: t.littleEndian) { bytes.append(contentsOf: $0) } }
        withUnsafeBytes(of: Int64(r.continuationCount).littleEndian) { bytes.append(contentsOf: $0) }
        sha.update(bytes)
        return SHA256.hexString(sha.finalize())
    }

    /// The cached score of `r`, if any.
    public func lookup(_ r: TokenizedRequest) -> TokenScore? { entries[Self.key(r)] }

    /// Records the score of `r` (written by ``flush()``).
    public func store(_ r: TokenizedRequest, _ s: TokenScore) {
        let key = Self.key(r)
        guard entries[key] == nil else { return }
        entries[key] = s
        pending.append(contentsOf: "\(key)\t\(s.logLikelihood.description)\t\(s.isGreedy ? 1 : 0)\n".utf8)
    }

    /// Appends the new scores to the file.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw EvalError(file: path, "cannot create the cache file") }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw EvalError(file: path, "cannot open the cache file for writing") }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(pending))
        } catch {
            throw EvalError(file: path, "cannot write the cache file (\(error.localizedDescription))")
        }
        pending.removeAll()
    }
}
