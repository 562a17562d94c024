import MonolithKernels
import Foundation

/// A JSON Lines file: one JSON object per line; blank lines are skipped, and every record keeps
/// its 1-based line number for messages.
public enum JSONLFile {
    /// The file's bytes, or an error naming it.
    static func contents(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvalError(file: path, "cannot read the file (missing or unreadable)")
        }
        return data
    }

    /// Every record of `path` with its line number.
    public static func read(_ path: String) throws -> [(line: Int, record: JSONValue)] {
        let data = try contents(path)
        var records: [(line: Int, record: JSONValue)] = []
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0, line = 1
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                var stop = end
                if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<stop])
                if slice.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                    let value = try JSONValue.parse(slice, file: path, line: line)
                    guard value.members != nil else {
                        throw EvalError(file: path, line: line, "expected one JSON object per line, got \(value.kindName)")
                    }
                    records.append((line, value))
                }
                start = end + 1; line += 1
            }
        }
        guard !records.isEmpty else { throw EvalError(file: path, "the file holds no records") }
        return records
    }

    /// The lines of a text file (a trailing newline does not make an extra line; `\r\n` is read
    /// as a line end).
    public static func lines(_ path: String) throws -> [String] {
        let data = try contents(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw EvalError(file: path, "not valid UTF-8")
        }
        var lines = PythonString.split(text, on: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
