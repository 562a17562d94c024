import Foundation

/// Appends one JSON object per line to `metrics.jsonl`; each line is flushed as written, so a
/// killed run keeps everything it logged.
public final class MetricsLog {
    /// The file written.
    public let path: String
    private let handle: FileHandle

    /// Opens (appending to) `path`.
    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw TrainingError("\(path): cannot create the metrics file") }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError("\(path): cannot open the metrics file") }
        handle = h
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    /// Writes one record; keys are sorted for stable diffs.
    public func write(_ record: [String: Any]) {
        // JSON has no NaN or infinity: a skipped step's non-finite loss or norm is written as null.
        let clean = record.mapValues { value -> Any in
            if let d = value as? Double, !d.isFinite { return NSNull() }
            return value
        }
        guard let data = try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys]) else { return }
        handle.write(data + Data([0x0A]))
    }

    /// Reads the train and validation loss series back (for the plot, across resumes).
    public static func lossSeries(path: String) -> (train: [(Int, Double)], validation: [(Int, Double)]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return ([], []) }
        var train: [Int: Double] = [:], val: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = obj["step"] as? Int else { continue }
            // A resumed run rewrites steps after its checkpoint; the last record for a step wins.
            if let l = obj["loss"] as? Double { train[step] = l }
            if let v = obj["val_loss"] as? Double { val[step] = v }
        }
        return (train.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, val.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
