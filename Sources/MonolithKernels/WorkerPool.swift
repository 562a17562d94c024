#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A persistent pool of worker threads for multi-core kernels.
///
/// `DispatchQueue.concurrentPerform` takes 37–90 µs to wake a worker on this machine, which
/// dwarfs a LayerNorm over a few thousand rows. Workers here spin briefly after each job and
/// then park on a condition variable, so back-to-back kernels dispatch in microseconds while an
/// idle pool costs no CPU (a thread left spinning halves everyone's speed on 2 cores).
///
/// Only one caller dispatches at a time. A second concurrent caller (another test thread, or a
/// kernel that calls back into the pool) runs its work inline instead of blocking.
///
/// ```swift
/// WorkerPool.shared.parallelFor(rows) { range in
///     for r in range { process(row: r) }
/// }
/// ```
public final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool, sized from `MONOLITH_THREADS` or the number of online cores.
    public static let shared = WorkerPool(threads: WorkerPool.defaultThreadCount())

    /// A pool that runs everything on the caller, for work nested inside another pool's job.
    public static let serial = WorkerPool(threads: 1)

    /// Number of threads that run a job, the calling thread included.
    public let threadCount: Int

    // Workers hold only this shared state, never the pool itself, so dropping the last reference
    // to a pool runs its deinit, which stops and joins the workers.
    private let state = PoolState()
    private let dispatchLock: UnsafeMutablePointer<pthread_mutex_t>
    private var threads: [pthread_t] = []

    /// Creates a pool that runs jobs on `threads` threads (the caller plus `threads - 1` workers).
    public init(threads: Int) {
        threadCount = max(1, threads)
        dispatchLock = .allocate(capacity: 1)
        pthread_mutex_init(dispatchLock, nil)
        for index in 1..<threadCount {
            let context = Unmanaged.passRetained(WorkerContext(state: state, index: index)).toOpaque()
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t? = nil
            #endif
            let rc = pthread_create(&thread, nil, { raw in
                #if canImport(Glibc)
                let ctx = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                #else
                let ctx = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
                #endif
                ctx.state.workerLoop(index: ctx.index)
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed with \(rc)")
            #if canImport(Glibc)
            self.threads.append(thread)
            #else
            self.threads.append(thread!)
            #endif
        }
    }

    deinit {
        state.stop()
        for t in threads { pthread_join(t, nil) }
        dispatchLock.deallocate()
    }

    /// Thread count from `MONOLITH_THREADS`, else the online cores.
    public static func defaultThreadCount() -> Int {
        if let s = getenv("MONOLITH_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Runs `body(t)` once for every thread index `t` in `0..<threadCount`, in parallel.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 || pthread_mutex_trylock(dispatchLock) != 0 {
            for t in 0..<threadCount { body(t) }
            return
        }
        defer { pthread_mutex_unlock(dispatchLock) }
        withoutActuallyEscaping(body) { escaping in state.dispatch(escaping, workers: threadCount - 1) }
    }

    /// Splits `0..<count` into one contiguous chunk per thread and runs `body` on each chunk.
    /// Chunk starts are multiples of `alignment`, so SIMD kernels keep aligned strides.
    public func parallelFor(_ count: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let threads = min(threadCount, max(1, count / max(1, alignment)))
        if threads == 1 { body(0..<count); return }
        run { t in
            guard t < threads else { return }
            let r = WorkerPool.chunk(t, of: threads, count: count, alignment: alignment)
            if !r.isEmpty { body(r) }
        }
    }

    /// Runs `body` over `0..<count` in chunks of `grain` that threads take in turn until none is
    /// left, so a thread the OS delays (a busy core shared with a server's network threads) does
    /// not hold up the others as a fixed split would. Use it where each index's result does not
    /// depend on which thread computes it.
    public func dynamicFor(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let grain = max(1, grain)
        if count <= grain || threadCount == 1 { if count > 0 { body(0..<count) }; return }
        let next = Atomic<Int>(0)
        run { _ in
            while true {
                let lo = next.add(grain, ordering: .relaxed).oldValue
                if lo >= count { return }
                body(lo..<min(count, lo + grain))
            }
        }
    }

    /// The `t`-th of `parts` contiguous chunks of `0..<count`, with boundaries rounded to `alignment`.
    @inlinable
    public static func chunk(_ t: Int, of parts: Int, count: Int, alignment: Int = 1) -> Range<Int> {
        let units = (count + alignment - 1) / alignment
        let lo = min(count, (units * t / parts) * alignment)
        let hi = t == parts - 1 ? count : min(count, (units * (t + 1) / parts) * alignment)
        return lo..<hi
    }

}

/// What the dispatcher and the workers share: the job, its generation counter and the parking lot.
private final class PoolState: @unchecked Sendable {
    let generation = Atomic<Int>(0)
    let pending = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    nonisolated(unsafe) var job: ((Int) -> Void)?
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let cond: UnsafeMutablePointer<pthread_cond_t>
    /// Iterations a worker polls for new work before parking (~tens of µs).
    let spinLimit = 20_000

    init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit { mutex.deallocate(); cond.deallocate() }

    /// Publishes `job`, runs its share 0 on the caller, and waits for `workers` workers.
    func dispatch(_ body: @escaping (Int) -> Void, workers: Int) {
        job = body
        pending.store(workers, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        body(0)
        var spins = 0
        while pending.load(ordering: .acquiring) != 0 {
            spins += 1
            if spins > spinLimit { sched_yield() }
        }
        job = nil
    }

    /// Wakes every worker with the stop flag set.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > spinLimit {
                    pthread_mutex_lock(mutex)
                    while generation.load(ordering: .acquiring) == seen {
                        pthread_cond_wait(cond, mutex)
                    }
                    pthread_mutex_unlock(mutex)
                }
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            job?(index)
            pending.subtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerContext {
    let state: PoolState
    let index: Int
    init(state: PoolState, index: Int) { self.state = state; self.index = index }
}
