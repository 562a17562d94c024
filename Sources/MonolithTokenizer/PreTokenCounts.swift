#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MonolithKernels

/// How often each GPT-2 pre-token occurs in a training corpus: the input of `BPETrainer`.
///
/// Text is pre-tokenized line by line (each line keeps its `\n`), as Hugging Face's
/// `Tokenizer.train(files)` feeds its trainer; this matters where whitespace runs span lines.
/// Special tokens are not split out of training text, again as Hugging Face does.
///
/// Counting is parallel: the texts, taken as one sequence of lines, are cut into one contiguous
/// share per thread; each thread counts into its own table and the tables are merged in order.
/// Words are thus numbered by first occurrence whatever the thread count, and training is
/// deterministic.
///
/// ```swift
/// let counts = PreTokenCounts()
/// counts.add([emma, persuasion])     // texts of files, or once per text
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
        add([text], pool: pool)
    }

    /// Counts the pre-tokens of several texts (files), in parallel across them. The end of each
    /// text ends a line.
    public func add(_ texts: [String], pool: WorkerPool = .shared) {
        var all: [UInt8] = []
        all.reserveCapacity(texts.reduce(0) { $0 + $1.utf8.count })
        var ends: [Int] = []
        for t in texts {
            all.append(contentsOf: t.utf8)
            ends.append(all.count)
        }
        all.withUnsafeBufferPointer { add(validUTF8: $0, textEnds: ends, pool: pool) }
    }

    private func add(validUTF8 buffer: UnsafeBufferPointer<UInt8>, textEnds: [Int], pool: WorkerPool) {
        let n = buffer.count
        guard let base = buffer.baseAddress, n > 0 else { return }
        bytes += n
        let parts = n >= 256 * 1024 ? pool.threadCount : 1
        // Share boundaries near multiples of n / parts, moved forward to the next line start.
        var bounds = [0]
        for t in 1..<max(1, parts) {
            var p = max(bounds.last!, n * t / parts)
            while p < n && base[p - 1] != 0x0A && !textEnds.contains(p) { p += 1 }
            bounds.append(p)
        }
        bounds.append(n)
        let shares = bounds.count - 1
        let tables = (0..<shares).map { _ in (ByteStringTable(capacity: 1 << 14), Counter()) }
        let count = { (t: Int) in
            let (table, counter) = tables[t]
            var start = 0
            for end in textEnds {
                let lo = max(start, bounds[t]), hi = min(end, bounds[t + 1])
                if lo < hi { PreTokenCounts.countLines(base, lo, hi, into: table, counter) }
                start = end
            }
        }
        if shares == 1 { count(0) } else { pool.run { t in if t < shares { count(t) } } }
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
        var total = counter.total
        while lineStart < end {
            var lineEnd = end
            if let nl = memchr(base + lineStart, 0x0A, end - lineStart) {
                lineEnd = UnsafeRawPointer(nl).assumingMemoryBound(to: UInt8.self) - base + 1
            }
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
