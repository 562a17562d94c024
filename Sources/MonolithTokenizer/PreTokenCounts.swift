import MonolithKernels

/// How often each GPT-2 pre-token occurs in a training corpus: the input of `BPETrainer`.
///
/// Text is pre-tokenized line by line (each line keeps its `\n`), as Hugging Face's
/// `Tokenizer.train(files)` feeds its trainer; this matters where whitespace runs span lines.
/// Special tokens are not split out of training text, again as Hugging Face does.
///
/// Counting is parallel: each thread counts a contiguous share of the lines into its own table,
/// and the tables are merged in order, so words are numbered by first occurrence whatever the
/// thread count, and training is deterministic.
///
/// ```swift
/// let counts = PreTokenCounts()
/// try counts.add(text)          // once per file
/// let trained = try BPETrainer.train(counts, options: .init(vocabularySize: 8192))
/// ```
public final class PreTokenCounts: @unchecked Sendable {
    let words = ByteStringTable(capacity: 1 << 14)
    private(set) var counts: [Int64] = []
    /// Pre-tokens counted (with repetition).
    public private(set) var total: Int64 = 0
    /// Bytes of text counted.
    public private(set) var bytes = 0

    public init() {}

    /// Number of distinct pre-tokens.
    public var distinct: Int { words.count }

    /// Counts the pre-tokens of `text`.
    public func add(_ text: String, pool: WorkerPool = .shared) {
        var text = text
        text.withUTF8 { add(validUTF8: $0, pool: pool) }
    }

    /// Counts the pre-tokens of `bytes`.
    /// - Throws: `TokenizerError` with the offset of the first invalid byte.
    public func add(utf8 bytes: UnsafeBufferPointer<UInt8>, pool: WorkerPool = .shared) throws {
        if let offset = UTF8Text.firstInvalidOffset(bytes) {
            throw TokenizerError("invalid UTF-8 at byte offset \(offset)")
        }
        add(validUTF8: bytes, pool: pool)
    }

    func add(validUTF8 buffer: UnsafeBufferPointer<UInt8>, pool: WorkerPool) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let n = buffer.count
        bytes += n
        let parts = n >= 1 << 20 ? pool.threadCount : 1
        // Cut at line starts so each line is pre-tokenized whole.
        var bounds = [0]
        for t in 1..<parts {
            var p = max(bounds.last!, n * t / parts)
            while p < n && (p == 0 || base[p - 1] != 0x0A) { p += 1 }
            bounds.append(p)
        }
        bounds.append(n)
        let tables = (0..<parts).map { _ in (ByteStringTable(capacity: 1 << 14), Counter()) }
        let count = { (t: Int) in
            let (table, counter) = tables[t]
            PreTokenCounts.countLines(base, bounds[t], bounds[t + 1], into: table, counter)
        }
        if parts == 1 { count(0) } else {
            pool.run { t in if t < parts { count(t) } }
        }
        for (table, counter) in tables {
            for e in 0..<table.count {
                let key = table.key(e)
                let (entry, inserted) = words.insert(key.baseAddress!, key.count)
                if inserted { counts.append(0) }
                counts[Int(entry)] += counter.counts[e]
            }
            total += counter.total
        }
    }

    private final class Counter {
        var counts: [Int64] = []
        var total: Int64 = 0
    }

    private static func countLines(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                                   into table: ByteStringTable, _ counter: Counter) {
        var lineStart = start
        var counts = counter.counts
        var total: Int64 = 0
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd < end && base[lineEnd] != 0x0A { lineEnd += 1 }
            if lineEnd < end { lineEnd += 1 }
            var scanner = GPT2PreTokenizer(base, from: lineStart, to: lineEnd)
            var s = lineStart
            while let e = scanner.next() {
                let (entry, inserted) = table.insert(base + s, e - s)
                if inserted { counts.append(1) } else { counts[Int(entry)] += 1 }
                total += 1
                s = e
            }
            lineStart = lineEnd
        }
        counter.counts = counts
        counter.total = total
    }

    /// The count of pre-token `entry` and its bytes.
    func word(_ entry: Int) -> (bytes: UnsafeBufferPointer<UInt8>, count: Int64) {
        (words.key(entry), counts[entry])
    }
}
