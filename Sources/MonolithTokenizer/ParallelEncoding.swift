#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MonolithKernels
import Synchronization

/// What one encode cost each thread, for benchmarks on shared machines: when other jobs hold the
/// cores, wall time measures them too, while thread CPU time shows how evenly the work was split
/// (with free cores, wall time ≈ the busiest thread's CPU time).
public struct EncodeStatistics: Sendable {
    /// CPU seconds used by each thread of the pool during the encode (one entry when serial).
    public var threadCPUSeconds: [Double] = []
    /// Number of chunks the text was cut into.
    public var chunks = 1
}

/// CPU seconds used by the calling thread so far.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Encoding one long text on several threads.
///
/// The text is cut at positions where each pre-tokenizer (``PreTokenizerKind``) is known to end
/// a piece whatever precedes or follows, so each chunk encodes exactly as it would inside the
/// whole text. For GPT-2's pattern:
/// - an ASCII letter, a space, an ASCII letter (`…d w…`): a letter run ends before the space,
///   and the space starts the next word's piece;
/// - non-whitespace ASCII, one `\n`, non-whitespace ASCII: the lone newline is a piece of its own
///   (`\s+` in the whole text, `\s+(?!\S)` at the end of the chunk — the same bytes).
/// A longer whitespace run is never cut: at the end of a chunk it would stay whole, while inside
/// the text its last scalar joins the next piece. The same two cuts are safe for the other
/// patterns: isolating numbers never joins a letter or a newline to a neighbour, and Llama 3's
/// pattern ends a letter run at the space (which starts `[^\r\n\p{L}\p{N}]?\p{L}+`) and keeps
/// the newline with what precedes it (`[\r\n]*` after punctuation, `\s*[\r\n]+` after a
/// letter or number), never with what follows. Boundaries never fall inside a special token
/// (tested with the larger set, so also when special tokens are not parsed).
/// Chunks are handed out dynamically, each thread with its own word cache.
enum ParallelEncoding {
    /// Smallest chunk worth a thread handoff (~ms of work).
    static let minChunk = 64 * 1024
    /// How far past a target position to look for a safe boundary.
    static let searchWindow = 64 * 1024

    static func encode(_ model: BPEModel, _ base: UnsafePointer<UInt8>, _ n: Int, workspaces: WorkspacePool,
                       pool: WorkerPool, parts: Int? = nil, minChunk: Int = minChunk, parseSpecial: Bool = true,
                       statistics: UnsafeMutablePointer<EncodeStatistics>? = nil) -> [Int32] {
        let bounds = boundaries(model, base, n, parts: parts ?? pool.threadCount * 4, minChunk: minChunk)
        let chunks = bounds.count - 1
        if chunks == 1 {
            let c0 = threadCPUSeconds()
            let ws = workspaces.take()
            defer { workspaces.give(ws) }
            var out: [Int32] = []
            out.reserveCapacity(n / 3 + 16)
            model.encode(base, 0, n, ws, &out, parseSpecial: parseSpecial)
            statistics?.pointee = EncodeStatistics(threadCPUSeconds: [threadCPUSeconds() - c0], chunks: 1)
            return out
        }
        let results = UnsafeMutablePointer<[Int32]>.allocate(capacity: chunks)
        results.initialize(repeating: [], count: chunks)
        defer { results.deinitialize(count: chunks); results.deallocate() }
        let counter = ChunkCounter()
        let cpu = UnsafeMutablePointer<Double>.allocate(capacity: pool.threadCount)
        cpu.initialize(repeating: 0, count: pool.threadCount)
        defer { cpu.deallocate() }
        pool.run { t in
            let c0 = threadCPUSeconds()
            let ws = workspaces.take()
            defer {
                workspaces.give(ws)
                cpu[t] = threadCPUSeconds() - c0
            }
            while true {
                let c = counter.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if c >= chunks { break }
                var out: [Int32] = []
                out.reserveCapacity((bounds[c + 1] - bounds[c]) / 3 + 16)
                model.encode(base, bounds[c], bounds[c + 1], ws, &out, parseSpecial: parseSpecial)
                results[c] = out
            }
        }
        statistics?.pointee = EncodeStatistics(threadCPUSeconds: Array(UnsafeBufferPointer(start: cpu, count: pool.threadCount)),
                                               chunks: chunks)
        var total = 0
        for c in 0..<chunks { total += results[c].count }
        var out: [Int32] = []
        out.reserveCapacity(total)
        for c in 0..<chunks { out.append(contentsOf: results[c]) }
        return out
    }

    /// Chunk starts (and `n` last) near multiples of `n / parts`.
    static func boundaries(_ model: BPEModel, _ base: UnsafePointer<UInt8>, _ n: Int, parts: Int,
                           minChunk: Int = minChunk) -> [Int] {
        let step = max(minChunk, n / max(1, parts))
        var bounds = [0]
        var target = step
        while target + minChunk / 2 < n {
            let limit = min(n - 2, target + searchWindow)
            var p = target
            var found = -1
            while p < limit {
                if isSafe(base, p) && !model.specials.straddles(base, p, start: bounds.last!, end: n) {
                    found = p
                    break
                }
                p += 1
            }
            if found > 0 {
                bounds.append(found)
                target = found + step
            } else {
                target += searchWindow
            }
        }
        bounds.append(n)
        return bounds
    }

    /// Whether a chunk may start at `p` (needs `2 <= p <= n - 2`).
    @inline(__always)
    static func isSafe(_ b: UnsafePointer<UInt8>, _ p: Int) -> Bool {
        let ascii = CharacterClass.ascii
        if b[p] == 0x20 {
            let l = b[p - 1], r = b[p + 1]
            return l < 0x80 && r < 0x80 && ascii[Int(l)] == CharacterClass.letter && ascii[Int(r)] == CharacterClass.letter
        }
        if b[p - 1] == 0x0A {
            let l = b[p - 2], r = b[p]
            return l < 0x80 && r < 0x80 && ascii[Int(l)] != CharacterClass.space && ascii[Int(r)] != CharacterClass.space
        }
        return false
    }
}

private final class ChunkCounter: Sendable {
    let next = Atomic<Int>(0)
}
