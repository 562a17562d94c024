import Foundation

/// On-disk cache of built indices, keyed by a hash of a description of everything they depend on.
///
/// As in megatron-core, each entry is `HASH-KIND-SPLIT-description.txt` plus one `.npy` per
/// array. The description is stored and compared on load, so a hash collision or a hand-edited
/// entry can never be mistaken for a match; the description is written last, so an entry whose
/// writer died half-way is ignored and rebuilt. Files appear atomically (`FileWriter`), so ranks
/// racing to build the same entry each write a complete copy.
public struct IndexCache: Sendable {
    /// The cache directory.
    public let directory: String

    /// A cache in `directory` (created on first store).
    public init(directory: String) { self.directory = directory }

    /// The default cache directory for a dataset prefix: `cache/GPTDataset_indices` beside it.
    public static func defaultDirectory(forPrefix prefix: String) -> String {
        let dir = (prefix as NSString).deletingLastPathComponent
        return (dir.isEmpty ? "." : dir) + "/cache/GPTDataset_indices"
    }

    /// 64-bit FNV-1a of `text`, as 16 hex digits.
    public static func hash(_ text: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Path of `name` in the entry for `description`.
    public func path(kind: String, split: DatasetSplit, description: String, name: String) -> String {
        "\(directory)/\(Self.hash(description))-\(kind)-\(split)-\(name)"
    }

    /// The cached arrays named `names`, or `nil` when the entry is missing or its description differs.
    public func fetch(kind: String, split: DatasetSplit, description: String, names: [String]) throws -> [String: [Int64]]? {
        let descriptionPath = path(kind: kind, split: split, description: description, name: "description.txt")
        guard let stored = try? String(contentsOfFile: descriptionPath, encoding: .utf8), stored == description else {
            return nil
        }
        var arrays: [String: [Int64]] = [:]
        for name in names {
            let file = path(kind: kind, split: split, description: description, name: name + ".npy")
            guard FileManager.default.fileExists(atPath: file) else { return nil }
            arrays[name] = try NPYFile.read(file).values
        }
        return arrays
    }

    /// Writes the arrays, then the description that marks the entry complete.
    public func store(kind: String, split: DatasetSplit, description: String,
                      arrays: [(name: String, values: [Int64], shape: [Int], element: NPYFile.Element)]) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataError.io(path: directory, message: "cannot create the index cache directory: \(error.localizedDescription)")
        }
        for a in arrays {
            try NPYFile.write(a.values, shape: a.shape, element: a.element,
                              to: path(kind: kind, split: split, description: description, name: a.name + ".npy"))
        }
        let file = try FileWriter(path: path(kind: kind, split: split, description: description, name: "description.txt"))
        try file.write(description)
        try file.commit()
    }
}
