import Foundation
import MonolithTokenizer

/// Finds and reads the text files of a corpus (the demo corpus comes from ``AssetCache``).
public enum CorpusFiles {
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
}
