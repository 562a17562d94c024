import Foundation

/// Measures sustained memory read bandwidth on the pool's threads, the bound of batch-1 decoding
/// and of the optimizer step.
public enum MemoryBandwidth {
    /// Best of `trials` passes summing a `bytes`-sized buffer (after one warm-up pass), in bytes/s.
    public static func measure(bytes: Int = 256 << 20, trials: Int = 3, pool: WorkerPool = .shared) -> Double {
        let count = bytes / 4
        let buffer = FloatBuffer(count: count)
        // Written first: untouched mapped pages all read the one shared zero page, from cache.
        pool.parallelFor(count, alignment: 1024) { r in (buffer.base + r.lowerBound).update(repeating: 1, count: r.count) }
        var best = 0.0
        for trial in 0...trials {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let s = Reduction.sumOfSquares(buffer.base, count: count, pool: pool)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if trial > 0 && s >= 0 { best = max(best, Double(bytes) / seconds) }
        }
        return best
    }
}
