import Foundation

/// A world of `size` ranks that are threads of one process, for unit tests of parallel code.
///
/// ``run(_:)`` starts one thread per rank, hands each an ``InProcessCommunicator`` for the whole
/// world, waits for all of them and returns their results in rank order. The semantics follow the
/// Open MPI backend: collectives must be called in the same order on every rank, a rank that waits
/// longer than `timeout` fails the whole world with an error naming the ranks that did not arrive,
/// and the other ranks then stop with ``CommError/aborted(_:)``. `run` rethrows the first error
/// that is not such a consequence, so a test sees the cause.
///
/// ```swift
/// let sums = try InProcessWorld(size: 4).run { comm in
///     var x: [Float] = [Float(comm.rank)]
///     try comm.allReduce(&x, op: .sum)
///     return x[0]
/// }   // [6, 6, 6, 6]
/// ```
public final class InProcessWorld: @unchecked Sendable {
    /// Number of ranks (threads).
    public let size: Int
    /// Seconds a rank may block in one operation; short by default so that a test that hangs
    /// fails in seconds rather than minutes.
    public let timeout: Double

    /// One lock and condition for all state of this world: tests move little data, and a single
    /// lock makes the abort path (wake every waiter in every group) trivially correct.
    let condition = NSCondition()
    /// The first failure; every waiter checks it and leaves with `.aborted`.
    var failure: CommError?
    private var nextGroupID = 0

    /// A world of `size` ranks.
    public init(size: Int, timeout: Double = 20) {
        precondition(size >= 1, "an in-process world needs at least one rank")
        self.size = size
        self.timeout = timeout
    }

    /// Runs `body` once per rank on its own thread and returns the results in rank order. Throws
    /// the root-cause error if any rank failed (a timeout, a mismatch, or the body's own error).
    @discardableResult
    public func run<R: Sendable>(_ body: @escaping @Sendable (InProcessCommunicator) throws -> R) throws -> [R] {
        let worldGroup = makeGroup(worldRanks: Array(0..<size), name: "world")
        let results = ResultSlots<R>(count: size)
        let finished = DispatchGroup()
        for r in 0..<size {
            finished.enter()
            let comm = InProcessCommunicator(world: self, group: worldGroup, rank: r, timeout: timeout)
            let thread = Thread { [self] in
                defer { finished.leave() }
                do {
                    results.set(r, .success(try body(comm)))
                } catch {
                    results.set(r, .failure(error))
                    // A rank that throws on its own is a crash from the others' point of view:
                    // stop them now instead of letting them wait out the timeout.
                    if !(error is CommError) { fail(.aborted("world rank \(r) failed: \(error)")) }
                }
            }
            // Closures in tests can recurse through the model; give them a normal main-thread stack.
            thread.stackSize = 8 << 20
            thread.start()
        }
        finished.wait()
        return try results.collect()
    }

    /// Records the first failure and wakes every waiter.
    func fail(_ error: CommError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// Must be called with `condition` held, or before the threads start.
    func makeGroup(worldRanks: [Int], name: String) -> InProcessGroup {
        nextGroupID += 1
        return InProcessGroup(id: nextGroupID, worldRanks: worldRanks, name: name)
    }
}

/// Per-rank outcomes, written by the rank threads and read after they have all finished.
private final class ResultSlots<R>: @unchecked Sendable {
    private var slots: [Result<R, any Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<R, any Error>) { lock.lock(); slots[i] = r; lock.unlock() }

    /// The values, or the root-cause error: a consequence (`.aborted`) is reported only if
    /// nothing else failed.
    func collect() throws -> [R] {
        var consequence: (any Error)?
        for slot in slots {
            if case let .failure(error)? = slot {
                if case .aborted? = error as? CommError { consequence = consequence ?? error; continue }
                throw error
            }
        }
        if let consequence { throw consequence }
        return slots.map { slot in
            guard case let .success(v)? = slot else { fatalError("rank thread ended without a result") }
            return v
        }
    }
}

/// Shared state of one group (the world or a split): pending collectives by sequence number, and
/// point-to-point channels. Guarded by the world's `condition`.
final class InProcessGroup {
    let id: Int
    let worldRanks: [Int]
    let name: String
    var collectives: [Int: Rendezvous] = [:]
    var channels: [ChannelKey: Channel] = [:]

    init(id: Int, worldRanks: [Int], name: String) {
        self.id = id; self.worldRanks = worldRanks; self.name = name
    }

    func rendezvous(_ sequence: Int) -> Rendezvous {
        if let r = collectives[sequence] { return r }
        let r = Rendezvous(size: worldRanks.count)
        collectives[sequence] = r
        return r
    }

    func channel(_ key: ChannelKey) -> Channel {
        if let c = channels[key] { return c }
        let c = Channel()
        channels[key] = c
        return c
    }
}

/// The meeting point of the k-th collective of a group: what each rank called and its buffers.
/// The last rank to arrive performs the whole operation for everyone, so no rank ever reads a
/// buffer that another rank is still filling.
final class Rendezvous {
    var signatures: [OpSignature?]
    var inputs: [UnsafeRawPointer?]
    var outputs: [UnsafeMutableRawPointer?]
    var splitArguments: [(color: Int?, key: Int)?]
    var splitResults: [InProcessGroup?]
    var arrived = 0
    var departed = 0
    var done = false

    init(size: Int) {
        signatures = Array(repeating: nil, count: size)
        inputs = Array(repeating: nil, count: size)
        outputs = Array(repeating: nil, count: size)
        splitArguments = Array(repeating: nil, count: size)
        splitResults = Array(repeating: nil, count: size)
    }
}

struct ChannelKey: Hashable { let source: Int, destination: Int, tag: Int }

/// Messages in flight from one rank to another with one tag. A send is copied at once (eager), so
/// it never blocks; receives posted before the message arrives wait in order.
final class Channel {
    var messages: [(type: CommScalarType, bytes: [UInt8])] = []
    var pending: [PendingReceive] = []
}

final class PendingReceive {
    let buffer: UnsafeMutableRawPointer
    let count: Int
    let type: CommScalarType
    var done = false
    init(buffer: UnsafeMutableRawPointer, count: Int, type: CommScalarType) {
        self.buffer = buffer; self.count = count; self.type = type
    }
}
