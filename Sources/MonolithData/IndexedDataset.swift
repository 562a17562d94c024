/// A memory-mapped Megatron MMapIndexedDataset (`PREFIX.bin` + `PREFIX.idx`), validated on open.
///
/// Reads files written by megatron-core's `IndexedDatasetBuilder` (its `preprocess_data.py`) and by
/// `IndexedDatasetWriter`. Opening checks everything megatron-core asserts and more: the magic,
/// version and dtype, the `.idx` size implied by its counts, the document indices (start at 0,
/// never decrease, end at the sequence count), and that the sequence pointers tile `PREFIX.bin`
/// exactly. Any inconsistency throws `DataError.corrupt` naming the file and what is wrong, so a
/// truncated copy fails at start-up instead of as garbage tokens hours into training.
///
/// ```swift
/// let ds = try IndexedDataset(prefix: "data/corpus_text_document")
/// print(ds.sequenceCount, ds.documentCount)
/// let first = ds.tokens(sequence: 0)          // [Int32]
/// ```
///
/// The index arrays stay in the mapping (they start at byte 34, so they are read unaligned)
/// rather than being copied: a corpus of 10⁸ sequences keeps 1.2 GB of index in the page cache,
/// shared by every process that opens it.
public final class IndexedDataset: @unchecked Sendable {
    /// The path prefix.
    public let prefix: String
    /// Element type of the tokens.
    public let dtype: TokenDType
    /// Number of sequences (Megatron's `len(IndexedDataset)`).
    public let sequenceCount: Int
    /// Number of entries of the document-index array (documents + 1).
    public let documentIndexCount: Int
    /// Whether the index carries per-sequence modes (multimodal datasets; ignored here).
    public let hasModes: Bool
    /// Total tokens in `.bin`.
    public let tokenCount: Int

    private let index: MappedFile
    private let data: MappedFile
    private let lengthsOffset: Int
    private let pointersOffset: Int
    private let documentsOffset: Int

    /// Number of documents.
    public var documentCount: Int { documentIndexCount - 1 }

    /// Opens and validates `prefix.idx` / `prefix.bin`.
    public init(prefix: String) throws {
        self.prefix = prefix
        let idxPath = IndexedDatasetFormat.indexPath(prefix)
        let binPath = IndexedDatasetFormat.dataPath(prefix)
        let index = try MappedFile(path: idxPath)
        self.index = index
        data = try MappedFile(path: binPath)
        let header = IndexedDatasetFormat.headerSize
        guard index.count >= header else {
            throw DataError.corrupt(path: idxPath, message: "\(index.count) bytes is shorter than the \(header)-byte header")
        }
        let magic = (0..<9).map { index.load($0, as: UInt8.self) }
        guard magic == IndexedDatasetFormat.magic else {
            throw DataError.corrupt(path: idxPath, message: "bad magic \(magic); expected MMIDIDX\\x00\\x00 (not a Megatron MMapIndexedDataset index)")
        }
        let version = index.load(9, as: UInt64.self)
        guard version == IndexedDatasetFormat.version else {
            throw DataError.corrupt(path: idxPath, message: "version \(version); only version 1 exists")
        }
        let code = index.load(17, as: UInt8.self)
        guard let dtype = TokenDType(rawValue: code) else {
            throw DataError.corrupt(path: idxPath, message: "unknown dtype code \(code) (valid: 1...8)")
        }
        guard dtype.isInteger else {
            throw DataError.corrupt(path: idxPath, message: "dtype \(dtype) is not a token type")
        }
        self.dtype = dtype
        let sequences = index.load(18, as: UInt64.self)
        let documents = index.load(26, as: UInt64.self)
        // Bound the counts before multiplying so a corrupt header cannot overflow the size check.
        guard sequences < UInt64(index.count), documents < UInt64(index.count) else {
            throw DataError.corrupt(path: idxPath, message: "header claims \(sequences) sequences and \(documents) document indices, more than a \(index.count)-byte file can hold")
        }
        sequenceCount = Int(sequences)
        documentIndexCount = Int(documents)
        let expected = IndexedDatasetFormat.indexSize(sequences: sequenceCount, documentIndices: documentIndexCount)
        if index.count == expected {
            hasModes = false
        } else if index.count == expected + sequenceCount && sequenceCount > 0 {
            hasModes = true
        } else {
            throw DataError.corrupt(path: idxPath, message: "\(index.count) bytes, but \(sequenceCount) sequences and \(documentIndexCount) document indices need \(expected) (\(index.count < expected ? "truncated" : "trailing bytes"))")
        }
        lengthsOffset = header
        pointersOffset = header + 4 * sequenceCount
        documentsOffset = pointersOffset + 8 * sequenceCount
        tokenCount = try Self.validate(index: index, data: data, dtype: dtype, sequences: sequenceCount,
                                       documents: documentIndexCount, lengths: lengthsOffset,
                                       pointers: pointersOffset, docs: documentsOffset)
    }

    /// Token count of sequence `i`.
    @inline(__always)
    public func length(_ i: Int) -> Int {
        precondition(i >= 0 && i < sequenceCount, "sequence \(i) out of range 0..<\(sequenceCount)")
        return Int(index.load(lengthsOffset + 4 * i, as: Int32.self))
    }

    /// Byte offset of sequence `i` in `.bin`.
    @inline(__always)
    public func pointer(_ i: Int) -> Int {
        precondition(i >= 0 && i < sequenceCount, "sequence \(i) out of range 0..<\(sequenceCount)")
        return Int(index.load(pointersOffset + 8 * i, as: Int64.self))
    }

    /// Entry `i` of the document-index array (0, then the end sequence of each document).
    @inline(__always)
    public func documentIndex(_ i: Int) -> Int {
        precondition(i >= 0 && i < documentIndexCount, "document index \(i) out of range 0..<\(documentIndexCount)")
        return Int(index.load(documentsOffset + 8 * i, as: Int64.self))
    }

    /// All sequence lengths, copied (what the GPT index builder needs).
    public func sequenceLengths() -> [Int32] {
        (0..<sequenceCount).map { Int32(length($0)) }
    }

    /// The range of sequences making up document `d`.
    public func sequences(ofDocument d: Int) -> Range<Int> {
        documentIndex(d)..<documentIndex(d + 1)
    }

    /// Copies `count` tokens of sequence `i` starting at token `offset` into `out`, widened to
    /// `Int32` (megatron-core's `IndexedDataset.get(idx, offset, length)`).
    public func copyTokens(sequence i: Int, offset: Int = 0, count: Int, into out: UnsafeMutablePointer<Int32>) {
        let n = length(i)
        precondition(offset >= 0 && count >= 0 && offset + count <= n,
                     "tokens \(offset)..<\(offset + count) out of range of sequence \(i) (\(n) tokens)")
        if count == 0 { return }
        let start = data.base! + pointer(i) + offset * dtype.size
        switch dtype {
        case .uint16:
            for k in 0..<count { out[k] = Int32(UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) }
        case .int32:
            for k in 0..<count { out[k] = Int32(littleEndian: start.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self)) }
        case .int64:
            for k in 0..<count { out[k] = Int32(truncatingIfNeeded: Int64(littleEndian: start.loadUnaligned(fromByteOffset: 8 * k, as: Int64.self))) }
        case .int16:
            for k in 0..<count { out[k] = Int32(Int16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self))) }
        case .uint8:
            for k in 0..<count { out[k] = Int32(start.load(fromByteOffset: k, as: UInt8.self)) }
        case .int8:
            for k in 0..<count { out[k] = Int32(start.load(fromByteOffset: k, as: Int8.self)) }
        case .float32, .float64:
            fatalError("unreachable: float dtypes are rejected on open")
        }
    }

    /// The tokens of sequence `i` (or a slice of it).
    public func tokens(sequence i: Int, offset: Int = 0, count: Int? = nil) -> [Int32] {
        let n = count ?? (length(i) - offset)
        return [Int32](unsafeUninitializedCapacity: n) { buffer, initialized in
            copyTokens(sequence: i, offset: offset, count: n, into: buffer.baseAddress!)
            initialized = n
        }
    }

    /// The tokens of document `d`: its sequences concatenated.
    public func tokens(document d: Int) -> [Int32] {
        sequences(ofDocument: d).flatMap { tokens(sequence: $0) }
    }

    // Checks that would otherwise surface as out-of-bounds reads or silently wrong samples.
    private static func validate(index: MappedFile, data: MappedFile, dtype: TokenDType, sequences: Int,
                                 documents: Int, lengths: Int, pointers: Int, docs: Int) throws -> Int {
        let idxPath = index.path, binPath = data.path
        guard documents >= 1 else {
            throw DataError.corrupt(path: idxPath, message: "the document-index array is empty; it must start with 0")
        }
        var previous = index.load(docs, as: Int64.self)
        guard previous == 0 else {
            throw DataError.corrupt(path: idxPath, message: "document index 0 is \(previous); it must be 0")
        }
        for d in 1..<max(1, documents) {
            let v = index.load(docs + 8 * d, as: Int64.self)
            guard v >= previous else {
                throw DataError.corrupt(path: idxPath, message: "document index \(d) is \(v), below the previous \(previous)")
            }
            previous = v
        }
        guard previous == Int64(sequences) else {
            throw DataError.corrupt(path: idxPath, message: "the last document index is \(previous), but there are \(sequences) sequences")
        }
        var expectedPointer: Int64 = 0
        let size = Int64(dtype.size)
        for i in 0..<sequences {
            let n = index.load(lengths + 4 * i, as: Int32.self)
            let p = index.load(pointers + 8 * i, as: Int64.self)
            guard n >= 0 else {
                throw DataError.corrupt(path: idxPath, message: "sequence \(i) has negative length \(n)")
            }
            guard p == expectedPointer else {
                throw DataError.corrupt(path: idxPath, message: "sequence \(i) starts at byte \(p) of \(binPath), but the lengths before it end at byte \(expectedPointer)")
            }
            expectedPointer += Int64(n) * size
        }
        guard expectedPointer == Int64(data.count) else {
            throw DataError.corrupt(path: binPath, message: "\(data.count) bytes, but \(idxPath) describes \(expectedPointer / size) \(dtype) tokens = \(expectedPointer) bytes (\(Int64(data.count) < expectedPointer ? "truncated" : "trailing bytes, or the .idx belongs to another .bin"))")
        }
        return Int(expectedPointer / size)
    }
}
