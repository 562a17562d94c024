import Foundation
import MonolithKernels
import Synchronization
import Testing

/// The worker pool: every index covered exactly once, chunk boundaries, re-entrancy.
///
/// Every multi-threaded kernel trusts `parallelFor` and `chunk` to partition its index space; a
/// gap leaves stale output and an overlap races. Counts around the SIMD width and alignments of
/// 1/16/64 are the combinations the kernels use. A pool can be re-entered (a kernel called from
/// inside another pool job, or two threads dispatching at once, as parallel tests do) and promises
/// to run such calls inline rather than block, so those cases run under a watchdog that turns a
/// deadlock into a failure instead of a hung test run.
@Suite("WorkerPool")
struct WorkerPoolTests {
    static let counts = [0, 1, 2, 15, 16, 17, 1000]

    @Test("parallelFor covers every index exactly once", arguments: counts, [1, 16, 64])
    func parallelForCoversEachIndexOnce(count: Int, alignment: Int) {
        for pool in [WorkerPool.serial, TestPools.three, WorkerPool.shared] {
            let ranges = Mutex<[Range<Int>]>([])
            pool.parallelFor(count, alignment: alignment) { r in ranges.withLock { $0.append(r) } }
            let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
            #expect(sorted.allSatisfy { !$0.isEmpty }, "threads \(pool.threadCount): empty range handed to body")
            var next = 0
            for r in sorted {
                #expect(r.lowerBound == next, "threads \(pool.threadCount): gap or overlap at \(next)")
                #expect(r.lowerBound % alignment == 0, "threads \(pool.threadCount): unaligned start \(r.lowerBound)")
                next = r.upperBound
            }
            #expect(next == count, "threads \(pool.threadCount): covered 0..<\(next) of \(count)")
        }
    }

    @Test("run calls the body once per thread index", arguments: [1, 2, 3, 5])
    func runCallsEachThreadIndexOnce(threads: Int) {
        let pool = threads == 3 ? TestPools.three : WorkerPool(threads: threads)
        #expect(pool.threadCount == threads)
        let seen = Mutex<[Int]>([])
        pool.run { t in seen.withLock { $0.append(t) } }
        #expect(seen.withLock { $0 }.sorted() == Array(0..<threads))
    }

    /// Back-to-back jobs hand off through the spinning path; the pauses let the workers exceed
    /// their spin limit and park, so the condition-variable wake-up runs too.
    @Test("WorkerPool(threads: 3) runs hundreds of back-to-back and spaced-out jobs correctly")
    func threeThreadPoolIsReusable() {
        let pool = TestPools.three
        let n = 10_000
        var data = (0..<n).map { Float($0 % 7) }
        let expected = data.map { $0 * 2 }
        data.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for round in 0..<200 {
                if round % 40 == 0 { usleep(3_000) }
                pool.parallelFor(n, alignment: 16) { r in for i in r { base[i] *= 2 } }
                pool.parallelFor(n, alignment: 16) { r in for i in r { base[i] *= 0.5 } }
            }
            pool.parallelFor(n, alignment: 16) { r in for i in r { base[i] *= 2 } }
        }
        expectIdentical(data, expected, "after 401 parallel passes")
    }

    @Test("thread count is at least one")
    func threadCountClamped() {
        #expect(WorkerPool(threads: 0).threadCount == 1)
        #expect(WorkerPool.serial.threadCount == 1)
        #expect(WorkerPool.shared.threadCount >= 1)
    }

    /// Uses a private pool: if nesting did deadlock, the shared test pool would stay locked and
    /// hang every other test instead of failing this one.
    @Test("parallelFor inside a job of the same pool runs inline and covers everything")
    func nestedParallelForDoesNotDeadlock() {
        let total = runWithWatchdog(seconds: 20) { () -> Int in
            let pool = WorkerPool(threads: 3)
            let total = Atomic<Int>(0)
            pool.parallelFor(6) { outer in
                for _ in outer {
                    pool.parallelFor(100, alignment: 16) { inner in total.add(inner.count, ordering: .relaxed) }
                    pool.run { _ in total.add(1, ordering: .relaxed) }
                }
            }
            return total.load(ordering: .relaxed)
        }
        #expect(total != nil, "nested parallelFor did not finish within 20 s (deadlock)")
        #expect(total == nil || total == 6 * (100 + 3))
    }

    @Test("dispatching from several threads at once gives correct results")
    func concurrentCallersDoNotDeadlock() {
        let sums = runWithWatchdog(seconds: 20) { () -> [Int] in
            let pool = TestPools.three
            let sums = Mutex<[Int]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                for _ in 0..<50 {
                    let total = Atomic<Int>(0)
                    pool.parallelFor(1000, alignment: 16) { r in total.add(r.reduce(0, +), ordering: .relaxed) }
                    let value = total.load(ordering: .relaxed)
                    sums.withLock { $0.append(value) }
                }
            }
            return sums.withLock { $0 }
        }
        #expect(sums != nil, "concurrent dispatch did not finish within 20 s (deadlock)")
        #expect(sums?.count ?? 400 == 400)
        #expect(sums?.allSatisfy { $0 == 999 * 1000 / 2 } ?? true)
    }

    /// Workers share only the pool's state, so dropping the last reference runs deinit, which
    /// stops and joins them (a per-run or per-rank pool must not leak threads).
    @Test("a pool is released when its last reference goes away")
    func poolIsReleased() {
        weak var released: WorkerPool?
        do {
            let pool = WorkerPool(threads: 2)
            released = pool
            pool.run { _ in }
        }
        #expect(released == nil)
    }

    @Test("chunk partitions 0..<count into aligned contiguous parts", arguments: counts, [1, 16, 64])
    func chunkBoundaries(count: Int, alignment: Int) {
        for parts in 1...5 {
            var next = 0
            let units = (count + alignment - 1) / alignment
            for t in 0..<parts {
                let r = WorkerPool.chunk(t, of: parts, count: count, alignment: alignment)
                #expect(r.lowerBound == next, "parts \(parts) t \(t): starts at \(r.lowerBound), expected \(next)")
                #expect(r.lowerBound % alignment == 0 || r.lowerBound == count, "parts \(parts) t \(t): unaligned")
                // Balanced: no part gets more than its share of aligned units, rounded up.
                #expect(r.count <= ((units + parts - 1) / parts) * alignment, "parts \(parts) t \(t): \(r)")
                next = r.upperBound
            }
            #expect(next == count, "parts \(parts): ends at \(next)")
        }
    }

    @Test("chunk matches hand-worked boundaries")
    func chunkExamples() {
        // 1000 floats in 64-aligned parts for 3 threads: 16 units split 5/5/6.
        #expect(WorkerPool.chunk(0, of: 3, count: 1000, alignment: 64) == 0..<320)
        #expect(WorkerPool.chunk(1, of: 3, count: 1000, alignment: 64) == 320..<640)
        #expect(WorkerPool.chunk(2, of: 3, count: 1000, alignment: 64) == 640..<1000)
        #expect(WorkerPool.chunk(0, of: 2, count: 17) == 0..<8)
        #expect(WorkerPool.chunk(1, of: 2, count: 17) == 8..<17)
        #expect(WorkerPool.chunk(2, of: 3, count: 2) == 1..<2)
    }

    /// Runs `body` on its own thread and returns its result, or nil if it did not finish within
    /// `seconds`; a deadlocked body is abandoned (it dies with the test process) rather than
    /// hanging the whole run. Expectations stay on the test's thread, where they are attributed.
    private func runWithWatchdog<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
        let outcome = WatchdogOutcome<T>()
        Thread { outcome.value = body(); outcome.done.signal() }.start()
        return outcome.done.wait(timeout: .now() + seconds) == .success ? outcome.value : nil
    }
}

/// The result slot of a watched thread; `value` is written before `done` is signalled and read only
/// after a successful wait, so the semaphore orders the accesses.
private final class WatchdogOutcome<T>: @unchecked Sendable {
    var value: T?
    let done = DispatchSemaphore(value: 0)
}
