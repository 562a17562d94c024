import Foundation

/// One rank's handle on a group of an ``InProcessWorld``. Use it from its own rank's thread only.
///
/// Collectives meet at a shared rendezvous: each rank deposits its signature and buffer pointers,
/// and the last to arrive checks the signatures and performs the operation on every rank's
/// buffers. Sends are eager (copied at once), so unlike MPI a large blocking send never waits for
/// its receiver; code that relies on that would deadlock under MPI, which the pipeline schedule's
/// simulation (see ``PipelineSimulation``) rules out for the schedules here.
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public var size: Int { group.worldRanks.count }
    public var worldRanks: [Int] { group.worldRanks }
    public var name: String { group.name }
    public var timeout: Double

    let world: InProcessWorld
    let group: InProcessGroup
    /// Number of collectives this rank has entered on this group: the k-th call of every rank
    /// meets at rendezvous k, exactly as MPI matches collectives by order.
    private var sequence = 0

    init(world: InProcessWorld, group: InProcessGroup, rank: Int, timeout: Double) {
        self.world = world; self.group = group; self.rank = rank; self.timeout = timeout
    }

    // MARK: Collectives

    public func allReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) {
        try startAllReduce(buffer, op: op).wait()
    }

    public func startAllReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) -> any CommRequest {
        let n = buffer.count
        return try arrive(OpSignature(.allReduce, count: n, type: T.commType, argument: op.rawValue),
                          input: UnsafeRawPointer(buffer.baseAddress), output: UnsafeMutableRawPointer(buffer.baseAddress)) { rv in
            let result = Self.reduce(rv.inputs, count: n, op: op, as: T.self)
            defer { result.deallocate() }
            for out in rv.outputs { out!.assumingMemoryBound(to: T.self).update(from: result, count: n) }
        }
    }

    public func reduceScatter<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                             op: ReduceOp) throws(CommError) {
        let n = output.count
        guard input.count == n * size else {
            throw .invalidArgument("reduceScatter on \(name): input has \(input.count) elements, expected \(size) × \(n)")
        }
        try arrive(OpSignature(.reduceScatter, count: input.count, type: T.commType, argument: op.rawValue),
                   input: UnsafeRawPointer(input.baseAddress), output: UnsafeMutableRawPointer(output.baseAddress)) { rv in
            let result = Self.reduce(rv.inputs, count: n * rv.outputs.count, op: op, as: T.self)
            defer { result.deallocate() }
            for (r, out) in rv.outputs.enumerated() { out!.assumingMemoryBound(to: T.self).update(from: result + r * n, count: n) }
        }.wait()
    }

    public func reduceScatter<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) {
        guard buffer.count % size == 0 else {
            throw .invalidArgument("reduceScatter on \(name): \(buffer.count) elements do not split into \(size) equal blocks")
        }
        let n = buffer.count / size
        try arrive(OpSignature(.reduceScatter, count: buffer.count, type: T.commType, argument: op.rawValue),
                   input: UnsafeRawPointer(buffer.baseAddress), output: UnsafeMutableRawPointer(buffer.baseAddress)) { rv in
            let result = Self.reduce(rv.inputs, count: buffer.count, op: op, as: T.self)
            defer { result.deallocate() }
            for (r, out) in rv.outputs.enumerated() { (out!.assumingMemoryBound(to: T.self) + r * n).update(from: result + r * n, count: n) }
        }.wait()
    }

    public func allGather<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws(CommError) {
        let n = input.count
        guard output.count == n * size else {
            throw .invalidArgument("allGather on \(name): output has \(output.count) elements, expected \(size) × \(n)")
        }
        try arrive(OpSignature(.allGather, count: output.count, type: T.commType),
                   input: UnsafeRawPointer(input.baseAddress), output: UnsafeMutableRawPointer(output.baseAddress)) { rv in
            for out in rv.outputs {
                for (r, inp) in rv.inputs.enumerated() {
                    (out!.assumingMemoryBound(to: T.self) + r * n).update(from: inp!.assumingMemoryBound(to: T.self), count: n)
                }
            }
        }.wait()
    }

    public func allGather<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(CommError) {
        guard buffer.count % size == 0 else {
            throw .invalidArgument("allGather on \(name): \(buffer.count) elements do not split into \(size) equal blocks")
        }
        let n = buffer.count / size
        try arrive(OpSignature(.allGather, count: buffer.count, type: T.commType),
                   input: UnsafeRawPointer(buffer.baseAddress), output: UnsafeMutableRawPointer(buffer.baseAddress)) { rv in
            for (d, out) in rv.outputs.enumerated() {
                for (r, inp) in rv.inputs.enumerated() where r != d {
                    (out!.assumingMemoryBound(to: T.self) + r * n).update(from: inp!.assumingMemoryBound(to: T.self) + r * n, count: n)
                }
            }
        }.wait()
    }

    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(CommError) {
        guard root >= 0 && root < size else { throw .invalidArgument("broadcast on \(name): root \(root) is not in 0..<\(size)") }
        let n = buffer.count
        try arrive(OpSignature(.broadcast, count: n, type: T.commType, argument: root),
                   input: UnsafeRawPointer(buffer.baseAddress), output: UnsafeMutableRawPointer(buffer.baseAddress)) { rv in
            let source = rv.inputs[root]!.assumingMemoryBound(to: T.self)
            for (r, out) in rv.outputs.enumerated() where r != root { out!.assumingMemoryBound(to: T.self).update(from: source, count: n) }
        }.wait()
    }

    public func barrier() throws(CommError) {
        try arrive(OpSignature(.barrier), input: nil, output: nil) { _ in }.wait()
    }

    public func split(color: Int?, key: Int, label: String) throws(CommError) -> (any Communicator)? {
        let request = try arrive(OpSignature(.split), input: nil, output: nil, split: (color, key)) { [world] rv in
            // Performed by the last rank to arrive, under the world lock.
            var members: [Int: [(key: Int, rank: Int)]] = [:]
            for (r, a) in rv.splitArguments.enumerated() { if let c = a!.color { members[c, default: []].append((a!.key, r)) } }
            for (_, list) in members {
                let ordered = list.sorted { ($0.key, $0.rank) < ($1.key, $1.rank) }.map(\.rank)
                let worldRanks = ordered.map { self.group.worldRanks[$0] }
                let g = world.makeGroup(worldRanks: worldRanks, name: Self.groupName(label: label, worldRanks: worldRanks))
                for r in ordered { rv.splitResults[r] = g }
            }
        }
        try request.wait()
        guard let g = request.rendezvous.splitResults[rank] else { return nil }
        return InProcessCommunicator(world: world, group: g, rank: g.worldRanks.firstIndex(of: worldRanks[rank])!, timeout: timeout)
    }

    /// Elementwise reduction of every rank's `count` elements into a fresh allocation the caller frees.
    private static func reduce<T: CommScalar>(_ inputs: [UnsafeRawPointer?], count: Int, op: ReduceOp, as: T.Type) -> UnsafeMutablePointer<T> {
        let result = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
        result.initialize(from: inputs[0]!.assumingMemoryBound(to: T.self), count: count)
        for input in inputs.dropFirst() {
            let x = input!.assumingMemoryBound(to: T.self)
            switch op {
            case .sum: for i in 0..<count { result[i] += x[i] }
            case .max: for i in 0..<count where x[i] > result[i] { result[i] = x[i] }
            case .min: for i in 0..<count where x[i] < result[i] { result[i] = x[i] }
            }
        }
        return result
    }

    /// Deposits this rank's part of the next collective; the last rank performs it.
    @discardableResult
    private func arrive(_ signature: OpSignature, input: UnsafeRawPointer?, output: UnsafeMutableRawPointer?,
                        split: (color: Int?, key: Int)? = nil,
                        perform: @escaping (Rendezvous) -> Void) throws(CommError) -> CollectiveRequest {
        world.condition.lock()
        defer { world.condition.unlock() }
        if let failure = world.failure { throw .aborted(failure.description) }
        let seq = sequence
        sequence += 1
        let rv = group.rendezvous(seq)
        rv.signatures[rank] = signature
        rv.inputs[rank] = input
        rv.outputs[rank] = output
        rv.splitArguments[rank] = split
        rv.arrived += 1
        if rv.arrived == size {
            if let detail = mismatch(rv) {
                let error = CommError.mismatch(operation: "collective #\(seq)", group: name, detail: detail)
                if world.failure == nil { world.failure = error }
                world.condition.broadcast()
                throw error
            }
            perform(rv)
            rv.done = true
            world.condition.broadcast()
        }
        return CollectiveRequest(comm: self, rendezvous: rv, sequence: seq, signature: signature)
    }

    private func mismatch(_ rv: Rendezvous) -> String? {
        let first = rv.signatures[0]!
        if rv.signatures.allSatisfy({ $0 == first }) { return nil }
        return rv.signatures.enumerated().map { "\(describeRank($0.offset)) called \($0.element!.summary)" }.joined(separator: "; ")
    }

    // MARK: Point to point

    public func send<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) {
        try startSend(buffer, to: peer, tag: tag).wait()
    }

    public func receive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError) {
        try startReceive(into: buffer, from: peer, tag: tag).wait()
    }

    public func startSend<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) -> any CommRequest {
        guard peer >= 0 && peer < size && peer != rank else { throw .invalidArgument("send on \(name): peer \(peer) is not another rank of 0..<\(size)") }
        world.condition.lock()
        defer { world.condition.unlock() }
        if let failure = world.failure { throw .aborted(failure.description) }
        let channel = group.channel(ChannelKey(source: rank, destination: peer, tag: tag))
        if let receiver = channel.pending.first {
            guard receiver.count == buffer.count && receiver.type == T.commType else {
                throw failLocked(.mismatch(operation: "send to \(describeRank(peer)) tag \(tag)", group: name,
                                           detail: "sent \(buffer.count) \(T.commType), the receive expects \(receiver.count) \(receiver.type)"))
            }
            receiver.buffer.copyMemory(from: UnsafeRawPointer(buffer.baseAddress!), byteCount: buffer.count * MemoryLayout<T>.stride)
            receiver.done = true
            channel.pending.removeFirst()
            world.condition.broadcast()
        } else {
            channel.messages.append((T.commType, Array(UnsafeRawBufferPointer(buffer))))
        }
        return CompletedRequest()
    }

    public func startReceive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError) -> any CommRequest {
        guard peer >= 0 && peer < size && peer != rank else { throw .invalidArgument("receive on \(name): peer \(peer) is not another rank of 0..<\(size)") }
        world.condition.lock()
        defer { world.condition.unlock() }
        if let failure = world.failure { throw .aborted(failure.description) }
        let channel = group.channel(ChannelKey(source: peer, destination: rank, tag: tag))
        let operation = "receive of \(buffer.count) \(T.commType) from \(describeRank(peer)) tag \(tag)"
        if channel.pending.isEmpty, !channel.messages.isEmpty {
            let message = channel.messages.removeFirst()
            guard message.bytes.count == buffer.count * MemoryLayout<T>.stride && message.type == T.commType else {
                throw failLocked(.mismatch(operation: operation, group: name,
                                           detail: "the message holds \(message.bytes.count / max(1, MemoryLayout<T>.stride)) \(message.type)"))
            }
            message.bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return CompletedRequest()
        }
        let pending = PendingReceive(buffer: UnsafeMutableRawPointer(buffer.baseAddress!), count: buffer.count, type: T.commType)
        channel.pending.append(pending)
        return ReceiveRequest(comm: self, pending: pending, operation: operation, peer: peer)
    }

    /// Records `error` as the world's failure (lock held) and returns it for throwing.
    func failLocked(_ error: CommError) -> CommError {
        if world.failure == nil { world.failure = error }
        world.condition.broadcast()
        return error
    }

    /// Waits (lock held) until `done()` or the deadline; on timeout fails the world with `error()`.
    func waitLocked(_ done: () -> Bool, error: () -> CommError) throws(CommError) {
        let deadline = timeout > 0 ? Date(timeIntervalSinceNow: timeout) : Date.distantFuture
        while !done() {
            if let failure = world.failure { throw .aborted(failure.description) }
            if !world.condition.wait(until: deadline) && !done() {
                if let failure = world.failure { throw .aborted(failure.description) }
                throw failLocked(error())
            }
        }
    }
}

/// A request that completed when it was started (eager sends, receives that found their message).
final class CompletedRequest: CommRequest {
    func test() throws(CommError) -> Bool { true }
    func wait() throws(CommError) {}
}

final class CollectiveRequest: CommRequest {
    let comm: InProcessCommunicator
    let rendezvous: Rendezvous
    let sequence: Int
    let signature: OpSignature
    private var finished = false

    init(comm: InProcessCommunicator, rendezvous: Rendezvous, sequence: Int, signature: OpSignature) {
        self.comm = comm; self.rendezvous = rendezvous; self.sequence = sequence; self.signature = signature
    }

    func test() throws(CommError) -> Bool {
        comm.world.condition.lock()
        defer { comm.world.condition.unlock() }
        if !finished, let failure = comm.world.failure { throw .aborted(failure.description) }
        if rendezvous.done { depart() }
        return finished
    }

    func wait() throws(CommError) {
        if finished { return }
        comm.world.condition.lock()
        defer { comm.world.condition.unlock() }
        try comm.waitLocked({ rendezvous.done }) {
            let missing = rendezvous.signatures.indices.filter { rendezvous.signatures[$0] == nil }
            return .timeout(operation: "\(signature.summary) #\(sequence)", group: comm.name,
                            missing: missing.map { comm.worldRanks[$0] }, seconds: comm.timeout)
        }
        depart()
    }

    /// The last rank to leave removes the rendezvous (lock held).
    private func depart() {
        if finished { return }
        finished = true
        rendezvous.departed += 1
        if rendezvous.departed == comm.size { comm.group.collectives[sequence] = nil }
    }
}

final class ReceiveRequest: CommRequest {
    let comm: InProcessCommunicator
    let pending: PendingReceive
    let operation: String
    let peer: Int

    init(comm: InProcessCommunicator, pending: PendingReceive, operation: String, peer: Int) {
        self.comm = comm; self.pending = pending; self.operation = operation; self.peer = peer
    }

    func test() throws(CommError) -> Bool {
        comm.world.condition.lock()
        defer { comm.world.condition.unlock() }
        if !pending.done, let failure = comm.world.failure { throw .aborted(failure.description) }
        return pending.done
    }

    func wait() throws(CommError) {
        comm.world.condition.lock()
        defer { comm.world.condition.unlock() }
        try comm.waitLocked({ pending.done }) {
            .timeout(operation: operation, group: comm.name, missing: [comm.worldRanks[peer]], seconds: comm.timeout)
        }
    }
}
