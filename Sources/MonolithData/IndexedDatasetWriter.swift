/// Writes a Megatron MMapIndexedDataset (`PREFIX.bin` + `PREFIX.idx`) that megatron-core's
/// `IndexedDataset` reads, byte-identical to its `IndexedDatasetBuilder` for the same documents.
///
/// ```swift
/// let writer = try IndexedDatasetWriter(prefix: "out/corpus", dtype: .optimal(vocabularySize: 50257))
/// try writer.addDocument([15496, 995, 0, 50256])
/// try writer.finalize()   // writes out/corpus.idx; out/corpus.bin appears at the same moment
/// ```
///
/// Both files are written under temporary names and renamed by `finalize()`, so a crash never
/// leaves a pair that looks complete.
public final class IndexedDatasetWriter {
    /// The path prefix (without `.bin`/`.idx`).
    public let prefix: String
    /// Element type of the tokens in `.bin`.
    public let dtype: TokenDType
    /// Token count of every sequence written so far.
    public private(set) var sequenceLengths: [Int32] = []
    /// Megatron's document indices: 0, then the sequence count at the end of each document.
    public private(set) var documentIndices: [Int64] = [0]
    /// Tokens written so far.
    public private(set) var tokenCount: Int64 = 0

    private let data: FileWriter
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacity: Int
    private var finalized = false

    /// Starts a dataset at `prefix`; throws if `dtype` cannot hold token ids or the file cannot be created.
    public init(prefix: String, dtype: TokenDType) throws {
        guard dtype.isInteger else {
            throw DataError.invalidArgument("token dtype \(dtype) cannot hold token ids; use uint16 or int32")
        }
        self.prefix = prefix
        self.dtype = dtype
        data = try FileWriter(path: IndexedDatasetFormat.dataPath(prefix), bufferSize: 4 << 20)
        scratchCapacity = 1 << 16
        scratch = .allocate(byteCount: scratchCapacity * 8, alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// Number of complete documents written.
    public var documentCount: Int { documentIndices.count - 1 }

    /// Appends one sequence to the current document (megatron's `add_item`). Throws if a token does
    /// not fit the dtype, naming the value, since a silent wrap would corrupt training data.
    public func addSequence(_ tokens: UnsafeBufferPointer<Int32>) throws {
        precondition(!finalized, "IndexedDatasetWriter used after finalize()")
        guard tokens.count <= Int(Int32.max) else {
            throw DataError.invalidArgument("a sequence of \(tokens.count) tokens exceeds the int32 length field")
        }
        try encode(tokens)
        sequenceLengths.append(Int32(tokens.count))
        tokenCount += Int64(tokens.count)
    }

    /// Closes the current document (megatron's `end_document`).
    public func endDocument() {
        documentIndices.append(Int64(sequenceLengths.count))
    }

    /// Appends a document made of one sequence.
    public func addDocument(_ tokens: [Int32]) throws {
        try tokens.withUnsafeBufferPointer { try addSequence($0) }
        endDocument()
    }

    /// Appends a document made of several sequences whose lengths are `lengths` (megatron's
    /// `add_document`); `tokens.count` must equal the sum of `lengths`.
    public func addDocument(_ tokens: [Int32], sequenceLengths lengths: [Int]) throws {
        guard lengths.reduce(0, +) == tokens.count, lengths.allSatisfy({ $0 >= 0 }) else {
            throw DataError.invalidArgument("sequence lengths \(lengths) do not add up to the \(tokens.count) tokens of the document")
        }
        try tokens.withUnsafeBufferPointer { all in
            var start = 0
            for n in lengths {
                try addSequence(UnsafeBufferPointer(rebasing: all[start..<start + n]))
                start += n
            }
        }
        endDocument()
    }

    /// Writes `.idx`, and makes both files appear under their final names.
    public func finalize() throws {
        precondition(!finalized, "finalize() called twice")
        finalized = true
        if documentIndices.last! != Int64(sequenceLengths.count) {
            // Megatron requires the last document index to equal the sequence count; sequences
            // added without end_document() would otherwise be unreachable.
            endDocument()
        }
        let index = try FileWriter(path: IndexedDatasetFormat.indexPath(prefix), bufferSize: 4 << 20)
        try index.write(IndexedDatasetFormat.magic)
        try index.write(littleEndian: IndexedDatasetFormat.version)
        try index.write(littleEndian: dtype.rawValue)
        try index.write(littleEndian: UInt64(sequenceLengths.count))
        try index.write(littleEndian: UInt64(documentIndices.count))
        for n in sequenceLengths { try index.write(littleEndian: n) }
        var pointer: Int64 = 0
        for n in sequenceLengths {
            try index.write(littleEndian: pointer)
            pointer += Int64(n) * Int64(dtype.size)
        }
        for d in documentIndices { try index.write(littleEndian: d) }
        // The .bin is renamed first: a reader looks for the .idx, so the pair only becomes
        // visible once both are complete.
        try data.commit()
        try index.commit()
    }

    /// Discards everything written; neither file is created.
    public func abandon() {
        finalized = true
        data.abandon()
    }

    private func encode(_ tokens: UnsafeBufferPointer<Int32>) throws {
        var start = 0
        while start < tokens.count {
            let n = min(scratchCapacity, tokens.count - start)
            let chunk = UnsafeBufferPointer(rebasing: tokens[start..<start + n])
            let bytes = n * dtype.size
            switch dtype {
            case .uint16:
                let out = scratch.assumingMemoryBound(to: UInt16.self)
                var bad = false
                for i in 0..<n {
                    let t = chunk[i]
                    bad = bad || UInt32(bitPattern: t) > 0xFFFF
                    out[i] = UInt16(truncatingIfNeeded: t).littleEndian
                }
                if bad { try rejectOutOfRange(chunk) }
            case .int32:
                let out = scratch.assumingMemoryBound(to: Int32.self)
                for i in 0..<n { out[i] = chunk[i].littleEndian }
            case .int64:
                let out = scratch.assumingMemoryBound(to: Int64.self)
                for i in 0..<n { out[i] = Int64(chunk[i]).littleEndian }
            case .uint8, .int8, .int16:
                let range = dtype.tokenRange
                if let t = chunk.first(where: { !range.contains(Int64($0)) }) {
                    throw outOfRange(t)
                }
                for i in 0..<n {
                    let t = chunk[i]
                    if dtype == .int16 { scratch.storeBytes(of: Int16(t).littleEndian, toByteOffset: 2 * i, as: Int16.self) }
                    else if dtype == .int8 { scratch.storeBytes(of: Int8(t), toByteOffset: i, as: Int8.self) }
                    else { scratch.storeBytes(of: UInt8(t), toByteOffset: i, as: UInt8.self) }
                }
            case .float32, .float64:
                fatalError("unreachable: float dtypes are rejected in init")
            }
            try data.write(UnsafeRawBufferPointer(start: scratch, count: bytes))
            start += n
        }
    }

    private func rejectOutOfRange(_ chunk: UnsafeBufferPointer<Int32>) throws {
        let range = dtype.tokenRange
        if let t = chunk.first(where: { !range.contains(Int64($0)) }) { throw outOfRange(t) }
    }

    private func outOfRange(_ token: Int32) -> DataError {
        .invalidArgument("token id \(token) in document \(documentCount) does not fit the \(dtype) dtype of \(prefix).bin (range \(dtype.tokenRange))")
    }
}
