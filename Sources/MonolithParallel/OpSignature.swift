#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one rank called, exchanged between ranks before a collective so that a mismatch (a
/// different collective, size, type or root at the same point in the sequence) is reported
/// instead of silently corrupting memory or hanging.
struct OpSignature: Equatable, Sendable {
    enum Code: Int64, Sendable { case allReduce = 1, reduceScatter, allGather, broadcast, barrier, split }
    var code: Code
    var count: Int
    var type: CommScalarType?
    /// The reduce op, the broadcast root, or 0.
    var argument: Int

    var words: [Int64] { [code.rawValue, Int64(count), Int64(type?.rawValue ?? 0), Int64(argument)] }

    init(_ code: Code, count: Int = 0, type: CommScalarType? = nil, argument: Int = 0) {
        self.code = code; self.count = count; self.type = type; self.argument = argument
    }

    init?(words: UnsafePointer<Int64>) {
        guard let code = Code(rawValue: words[0]) else { return nil }
        self.init(code, count: Int(words[1]), type: CommScalarType(rawValue: Int(words[2])), argument: Int(words[3]))
    }

    /// `allReduce(sum) of 1024 Float`, `broadcast from group rank 0 of 8 Int64`, `barrier`.
    var summary: String {
        let payload = type.map { " of \(count) \($0)" } ?? ""
        switch code {
        case .allReduce: return "allReduce(\(ReduceOp(rawValue: argument)?.description ?? "?"))\(payload)"
        case .reduceScatter: return "reduceScatter(\(ReduceOp(rawValue: argument)?.description ?? "?"))\(payload)"
        case .allGather: return "allGather\(payload)"
        case .broadcast: return "broadcast from group rank \(argument)\(payload)"
        case .barrier: return "barrier"
        case .split: return "split"
        }
    }
}

/// Seconds on a monotonic clock (wall-clock jumps must not fire or suppress a timeout).
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Calls `done` until it returns true or `timeout` seconds pass (0: forever); `false` on timeout.
///
/// Open MPI only progresses non-blocking operations inside MPI calls, so the loop must keep
/// calling; but a hot spin steals a core from the rank it is waiting for when ranks are
/// oversubscribed (4 ranks on 2 cores in CI). So: spin briefly (latency of short operations), then
/// yield (lets a co-scheduled rank run). A `patient` wait, one that may last as long as another
/// rank's compute (waiting for arrivals, or for a pipeline peer), then sleeps 50 µs per probe after
/// 20 ms, so that an idle stage does not burn a core; a transfer whose ranks have all arrived is
/// bounded by bandwidth and keeps yielding, because each probe moves data.
func poll(timeout: Double, patient: Bool = true, _ done: () -> Bool) -> Bool {
    if done() { return true }
    let start = monotonicSeconds()
    var probes = 0
    while true {
        if done() { return true }
        probes += 1
        if probes & 63 == 0 || probes > 256 {
            let elapsed = monotonicSeconds() - start
            if timeout > 0 && elapsed > timeout { return false }
            if patient && elapsed > 0.02 { usleep(50) } else if probes > 256 { sched_yield() }
        }
    }
}
