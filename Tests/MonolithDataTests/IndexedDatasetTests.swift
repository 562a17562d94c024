import Foundation
import MonolithTestSupport
import Testing
@testable import MonolithData

/// Expected content of the megatron-core-written fixtures (`indexed.json`).
struct IndexedFixture: Decodable {
    var dtype_code: Int
    var sequences: [[Int32]]
    var document_indices: [Int]
}

/// The `.bin/.idx` format: Monolith's writer and reader against megatron-core's files.
///
/// `Tests/Fixtures/megatron/*.{bin,idx}` were written by megatron-core's `IndexedDatasetBuilder`
/// (scripts/make_megatron_fixtures.py), including documents of several sequences. Reading them
/// proves the reader; writing the same documents and getting the same bytes proves the writer,
/// which megatron-core therefore reads too (the script's `--check` mode confirms it directly).
@Suite("Megatron indexed dataset")
struct IndexedDatasetTests {
    static let fixtures = ["uint16_docs", "int32_docs", "blend_b"]

    @Test("reads megatron-core-written datasets", arguments: fixtures)
    func readsMegatronFixtures(name: String) throws {
        let expected = try loadFixture([String: IndexedFixture].self, "indexed.json")[name]!
        let ds = try IndexedDataset(prefix: Paths.megatron + "/" + name)
        #expect(Int(ds.dtype.rawValue) == expected.dtype_code)
        #expect(ds.sequenceCount == expected.sequences.count)
        #expect((0..<ds.documentIndexCount).map { ds.documentIndex($0) } == expected.document_indices)
        for (i, sequence) in expected.sequences.enumerated() {
            #expect(ds.tokens(sequence: i) == sequence, "sequence \(i)")
        }
        #expect(ds.tokenCount == expected.sequences.reduce(0) { $0 + $1.count })
        // Partial reads, as the GPT dataset makes them.
        let long = expected.sequences.firstIndex { $0.count > 5 }!
        #expect(ds.tokens(sequence: long, offset: 2, count: 3) == Array(expected.sequences[long][2..<5]))
    }

    @Test("writes byte-identical files to megatron-core's IndexedDatasetBuilder", arguments: fixtures)
    func writerMatchesMegatronBytes(name: String) throws {
        let expected = try loadFixture([String: IndexedFixture].self, "indexed.json")[name]!
        let dir = TemporaryDirectory()
        let prefix = dir.file(name)
        let writer = try IndexedDatasetWriter(prefix: prefix, dtype: TokenDType(rawValue: UInt8(expected.dtype_code))!)
        for d in 0..<expected.document_indices.count - 1 {
            let seqs = expected.sequences[expected.document_indices[d]..<expected.document_indices[d + 1]]
            try writer.addDocument(seqs.flatMap { $0 }, sequenceLengths: seqs.map(\.count))
        }
        try writer.finalize()
        for ext in [".bin", ".idx"] {
            let ours = try Data(contentsOf: URL(fileURLWithPath: prefix + ext))
            let theirs = try Data(contentsOf: URL(fileURLWithPath: Paths.megatron + "/" + name + ext))
            #expect(ours == theirs, "\(name)\(ext) differs from megatron-core's")
        }
    }

    @Test("round trip", arguments: [TokenDType.uint16, .int32, .int64, .uint8, .int16])
    func roundTrip(dtype: TokenDType) throws {
        let dir = TemporaryDirectory()
        var rng = SeededGenerator(seed: UInt64(dtype.rawValue))
        let hi = Int(min(dtype.tokenRange.upperBound, 200_000))
        let docs: [[[Int32]]] = (0..<50).map { d in
            (0..<(d % 4 == 0 ? 3 : 1)).map { _ in (0..<rng.int(0..<40)).map { _ in Int32(rng.int(0..<hi + 1)) } }
        }
        let writer = try IndexedDatasetWriter(prefix: dir.file("rt"), dtype: dtype)
        for doc in docs { try writer.addDocument(doc.flatMap { $0 }, sequenceLengths: doc.map(\.count)) }
        try writer.finalize()
        let ds = try IndexedDataset(prefix: dir.file("rt"))
        #expect(ds.dtype == dtype)
        #expect(ds.documentCount == docs.count)
        for (d, doc) in docs.enumerated() {
            #expect(ds.sequences(ofDocument: d).map { ds.tokens(sequence: $0) } == doc)
            #expect(ds.tokens(document: d) == doc.flatMap { $0 })
        }
    }

    @Test("an empty dataset round-trips")
    func emptyDataset() throws {
        let dir = TemporaryDirectory()
        try IndexedDatasetWriter(prefix: dir.file("e"), dtype: .uint16).finalize()
        let ds = try IndexedDataset(prefix: dir.file("e"))
        #expect(ds.sequenceCount == 0 && ds.documentCount == 0 && ds.tokenCount == 0)
    }

    @Test("a token that does not fit uint16 is refused, naming it")
    func outOfRangeToken() throws {
        let dir = TemporaryDirectory()
        let writer = try IndexedDatasetWriter(prefix: dir.file("o"), dtype: .uint16)
        try writer.addDocument([1, 2, 3])
        #expect(throws: DataError.self) { try writer.addDocument([5, 70_000]) }
        do { try writer.addDocument([-1]) } catch { #expect("\(error)".contains("token id -1")) }
        writer.abandon()
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.bin")))
    }

    @Test("Megatron's dtype choice: uint16 below 65,500 ids")
    func optimalDType() {
        #expect(TokenDType.optimal(vocabularySize: 50257) == .uint16)
        #expect(TokenDType.optimal(vocabularySize: 65_499) == .uint16)
        #expect(TokenDType.optimal(vocabularySize: 65_500) == .int32)
    }

    /// Writes Monolith datasets plus `PREFIX.json` for `make_megatron_fixtures.py --check DIR`
    /// (into `MONOLITH_MEGATRON_EXPORT=DIR` when set, else a temporary directory), then checks the
    /// export the way that script does, with Monolith's reader: each `PREFIX.json` decodes as the
    /// committed fixtures' schema and lists exactly the documents and sequences stored in
    /// `PREFIX.{bin,idx}`.
    @Test("export Monolith-written datasets for the megatron-core check")
    func exportForMegatronCheck() throws {
        let temporary = TemporaryDirectory()
        let dir = ProcessInfo.processInfo.environment["MONOLITH_MEGATRON_EXPORT"] ?? temporary.path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 7)
        let exports = [("monolith_uint16", TokenDType.uint16, 65_535), ("monolith_int32", .int32, 300_000)]
        for (name, dtype, hi) in exports {
            let writer = try IndexedDatasetWriter(prefix: dir + "/" + name, dtype: dtype)
            var sequences: [[Int32]] = []
            for d in 0..<200 {
                let doc = (0..<(d % 9 == 0 ? 2 : 1)).map { _ in (0..<rng.int(1..<80)).map { _ in Int32(rng.int(0..<hi + 1)) } }
                try writer.addDocument(doc.flatMap { $0 }, sequenceLengths: doc.map(\.count))
                sequences += doc
            }
            try writer.finalize()
            let spec: [String: Any] = ["dtype_code": Int(dtype.rawValue), "sequences": sequences,
                                       "document_indices": writer.documentIndices]
            try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: dir + "/" + name + ".json"))
        }
        for (name, dtype, hi) in exports {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name + ".json"))
            let spec = try JSONDecoder().decode(IndexedFixture.self, from: data)
            let ds = try IndexedDataset(prefix: dir + "/" + name)
            #expect(spec.dtype_code == Int(dtype.rawValue) && ds.dtype == dtype)
            // 200 documents, every ninth of two sequences: 223 sequences.
            #expect(spec.document_indices.count == 201 && spec.sequences.count == 223)
            #expect(spec.document_indices.first == 0 && spec.document_indices.last == spec.sequences.count)
            #expect(ds.documentCount == 200 && ds.sequenceCount == spec.sequences.count)
            #expect((0..<ds.documentIndexCount).map { ds.documentIndex($0) } == spec.document_indices)
            for (i, sequence) in spec.sequences.enumerated() {
                #expect(ds.tokens(sequence: i) == sequence, "\(name) sequence \(i)")
            }
            #expect(spec.sequences.joined().allSatisfy { $0 >= 0 && $0 <= hi })
            #expect(ds.tokenCount == spec.sequences.reduce(0) { $0 + $1.count })
        }
    }
}
