import CMPI
import Foundation

/// A ``Communicator`` over Open MPI: `MPI_COMM_WORLD` from ``world()``, sub-groups from `split`.
///
/// Every collective runs in two phases so that a stuck rank is named instead of hanging the job:
/// 1. **Arrival.** Each rank sends a tiny token (sequence number, operation, count, type, root) to
///    every other member on a private duplicate of the communicator, and polls for theirs. When the
///    timeout passes, the ranks whose tokens are missing are the ones that never reached this
///    collective; tokens that disagree are a mismatch (two ranks at different calls).
/// 2. **Transfer.** The real non-blocking collective (`MPI_Iallreduce`, …) is polled with
///    `MPI_Test` under the same deadline, which also catches a rank that dies mid-transfer.
///
/// Either failure prints the error and calls `MPI_Abort`, ending every rank. With a timeout of 0
/// (`MONOLITH_COMM_TIMEOUT=0`) both phases are skipped and the plain blocking MPI calls are used.
/// Use one communicator from one thread at a time (calls into MPI itself are serialized).
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let worldRanks: [Int]
    public let name: String
    public var timeout: Double

    let comm: MPI_Comm
    /// A duplicate for arrival tokens, so they can never match user sends or collectives.
    let tokenComm: MPI_Comm
    let env: MPIEnvironment
    private var sequence: Int64 = 0
    /// Started collectives whose arrival phase is not complete, in program order. Their transfers
    /// are posted strictly in this order so every rank issues MPI collectives in the same order
    /// (MPI's rule), however the tokens happen to arrive.
    private var awaitingPost: [MPICollectiveRequest] = []

    private static let worldInstance = MPICommunicator(
        comm: mn_comm_world(), worldRanks: Array(0..<MPIEnvironment.shared.worldSize), name: "world")

    /// `MPI_COMM_WORLD`, initializing MPI on first use. Without `mpirun` this is a world of one.
    public static func world() -> MPICommunicator { worldInstance }

    private init(comm: MPI_Comm, worldRanks: [Int], name: String) {
        env = .shared
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        var dup: MPI_Comm?
        env.locked {
            MPI_Comm_rank(comm, &r)
            MPI_Comm_size(comm, &s)
            MPI_Comm_dup(comm, &dup)
        }
        rank = Int(r); size = Int(s)
        tokenComm = dup!
        self.worldRanks = worldRanks
        self.name = name
        timeout = CommDefaults.timeout
    }

    // MARK: Collectives

    public func allReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) {
        try startAllReduce(buffer, op: op).wait()
    }

    public func startAllReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) -> any CommRequest {
        let n = try count32(buffer.count, "allReduce")
        let base = UnsafeMutableRawPointer(buffer.baseAddress)
        return start(OpSignature(.allReduce, count: buffer.count, type: T.commType, argument: op.rawValue)) { [comm] request in
            MPI_Iallreduce(mn_in_place(), base, n, MPIEnvironment.datatype(T.commType), MPIEnvironment.operation(op), comm, request)
        }
    }

    public func reduceScatter<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                             op: ReduceOp) throws(CommError) {
        guard input.count == output.count * size else {
            throw .invalidArgument("reduceScatter on \(name): input has \(input.count) elements, expected \(size) × \(output.count)")
        }
        let n = try count32(output.count, "reduceScatter")
        let (src, dst) = (UnsafeRawPointer(input.baseAddress), UnsafeMutableRawPointer(output.baseAddress))
        try start(OpSignature(.reduceScatter, count: input.count, type: T.commType, argument: op.rawValue)) { [comm] request in
            MPI_Ireduce_scatter_block(src, dst, n, MPIEnvironment.datatype(T.commType), MPIEnvironment.operation(op), comm, request)
        }.wait()
    }

    public func reduceScatter<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) {
        guard buffer.count % size == 0 else {
            throw .invalidArgument("reduceScatter on \(name): \(buffer.count) elements do not split into \(size) equal blocks")
        }
        let block = buffer.count / size
        let n = try count32(block, "reduceScatter")
        let base = UnsafeMutableRawPointer(buffer.baseAddress)
        let request = start(OpSignature(.reduceScatter, count: buffer.count, type: T.commType, argument: op.rawValue)) { [comm] request in
            MPI_Ireduce_scatter_block(mn_in_place(), base, n, MPIEnvironment.datatype(T.commType), MPIEnvironment.operation(op), comm, request)
        }
        try request.wait()
        // In place, MPI leaves each rank's block at the start of the buffer; move it to its slot.
        if rank > 0 && block > 0 { (buffer.baseAddress! + rank * block).update(from: buffer.baseAddress!, count: block) }
    }

    public func allGather<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws(CommError) {
        guard output.count == input.count * size else {
            throw .invalidArgument("allGather on \(name): output has \(output.count) elements, expected \(size) × \(input.count)")
        }
        let n = try count32(input.count, "allGather")
        let (src, dst) = (UnsafeRawPointer(input.baseAddress), UnsafeMutableRawPointer(output.baseAddress))
        try start(OpSignature(.allGather, count: output.count, type: T.commType)) { [comm] request in
            let type = MPIEnvironment.datatype(T.commType)
            return MPI_Iallgather(src, n, type, dst, n, type, comm, request)
        }.wait()
    }

    public func allGather<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(CommError) {
        guard buffer.count % size == 0 else {
            throw .invalidArgument("allGather on \(name): \(buffer.count) elements do not split into \(size) equal blocks")
        }
        let n = try count32(buffer.count / size, "allGather")
        let base = UnsafeMutableRawPointer(buffer.baseAddress)
        try start(OpSignature(.allGather, count: buffer.count, type: T.commType)) { [comm] request in
            let type = MPIEnvironment.datatype(T.commType)
            return MPI_Iallgather(mn_in_place(), n, type, base, n, type, comm, request)
        }.wait()
    }

    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(CommError) {
        guard root >= 0 && root < size else { throw .invalidArgument("broadcast on \(name): root \(root) is not in 0..<\(size)") }
        let n = try count32(buffer.count, "broadcast")
        let base = UnsafeMutableRawPointer(buffer.baseAddress)
        try start(OpSignature(.broadcast, count: buffer.count, type: T.commType, argument: root)) { [comm] request in
            MPI_Ibcast(base, n, MPIEnvironment.datatype(T.commType), Int32(root), comm, request)
        }.wait()
    }

    public func barrier() throws(CommError) {
        try start(OpSignature(.barrier)) { [comm] request in MPI_Ibarrier(comm, request) }.wait()
    }

    public func split(color: Int?, key: Int, label: String) throws(CommError) -> (any Communicator)? {
        if let color, color < 0 { throw .invalidArgument("split on \(name): color must be non-negative or nil, got \(color)") }
        // MPI_Comm_split has no non-blocking form; an empty collective first gives it the same
        // arrival check (who did not reach the split) as every other operation.
        if timeout > 0 && size > 1 { try start(OpSignature(.split)) { [comm] request in MPI_Ibarrier(comm, request) }.wait() }
        var newComm: MPI_Comm?
        let rc = env.locked { MPI_Comm_split(comm, Int32(color ?? Int(mn_undefined())), Int32(key), &newComm) }
        try check(rc, "MPI_Comm_split")
        guard color != nil, let newComm else { return nil }
        // The members' world ranks, for names and errors.
        var mine = Int32(worldRanks[rank])
        var count: Int32 = 0
        env.locked { _ = MPI_Comm_size(newComm, &count) }
        var all = [Int32](repeating: 0, count: Int(count))
        let gather = env.locked { MPI_Allgather(&mine, 1, mn_int32(), &all, 1, mn_int32(), newComm) }
        try check(gather, "MPI_Allgather")
        let ranks = all.map(Int.init)
        let sub = MPICommunicator(comm: newComm, worldRanks: ranks, name: Self.groupName(label: label, worldRanks: ranks))
        sub.timeout = timeout
        return sub
    }

    // MARK: Point to point

    public func send<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) {
        try startSend(buffer, to: peer, tag: tag).wait()
    }

    public func receive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError) {
        try startReceive(into: buffer, from: peer, tag: tag).wait()
    }

    public func startSend<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) -> any CommRequest {
        try checkPeer(peer, tag, "send")
        let n = try count32(buffer.count, "send")
        var request: MPI_Request?
        let base = UnsafeRawPointer(buffer.baseAddress)
        let rc = env.locked { MPI_Isend(base, n, MPIEnvironment.datatype(T.commType), Int32(peer), Int32(tag), comm, &request) }
        try check(rc, "MPI_Isend")
        return MPIPointToPointRequest(comm: self, request: request, peer: peer,
                                      operation: "send of \(buffer.count) \(T.commType) to \(describeRank(peer)) tag \(tag)")
    }

    public func startReceive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError) -> any CommRequest {
        try checkPeer(peer, tag, "receive")
        let n = try count32(buffer.count, "receive")
        var request: MPI_Request?
        let base = UnsafeMutableRawPointer(buffer.baseAddress)
        let rc = env.locked { MPI_Irecv(base, n, MPIEnvironment.datatype(T.commType), Int32(peer), Int32(tag), comm, &request) }
        try check(rc, "MPI_Irecv")
        return MPIPointToPointRequest(comm: self, request: request, peer: peer,
                                      operation: "receive of \(buffer.count) \(T.commType) from \(describeRank(peer)) tag \(tag)")
    }

    // MARK: Machinery

    /// Starts a collective: posts arrival tokens (or, with timeouts off, the transfer itself).
    private func start(_ signature: OpSignature, post: @escaping (UnsafeMutablePointer<MPI_Request?>) -> Int32) -> MPICollectiveRequest {
        sequence += 1
        let request = MPICollectiveRequest(comm: self, signature: signature, sequence: sequence, post: post)
        env.locked {
            if timeout > 0 && size > 1 {
                request.postTokens()
                awaitingPost.append(request)
            } else {
                request.postTransfer()
            }
        }
        return request
    }

    /// Posts the transfers of every started collective whose arrival phase completed, in order.
    /// Called with the MPI lock held.
    func progressLocked() {
        while let head = awaitingPost.first, head.tokensArrived() {
            if let mismatch = head.mismatch() {
                MPIEnvironment.abort(CommError.mismatch(operation: head.label, group: name, detail: mismatch).description)
            }
            head.postTransfer()
            awaitingPost.removeFirst()
        }
    }

    /// Ends the job for an operation that timed out. Names the ranks whose tokens never came; when
    /// an earlier collective is still waiting for arrivals, that one is the culprit.
    func timedOut(_ request: MPICollectiveRequest) -> Never {
        let blocking = env.locked { awaitingPost.first } ?? request
        let missing = env.locked { blocking.missingPeers() }
        MPIEnvironment.abort(CommError.timeout(operation: blocking.label, group: name,
                                               missing: missing.map { worldRanks[$0] }, seconds: timeout).description)
    }

    func check(_ rc: Int32, _ function: String) throws(CommError) {
        if rc != mn_success() { throw .mpi(function: function, code: rc, message: MPIEnvironment.errorString(rc)) }
    }

    private func count32(_ n: Int, _ op: String) throws(CommError) -> Int32 {
        guard n <= Int(Int32.max) else { throw .invalidArgument("\(op) on \(name): \(n) elements exceed MPI's Int32 count") }
        return Int32(n)
    }

    private func checkPeer(_ peer: Int, _ tag: Int, _ op: String) throws(CommError) {
        guard peer >= 0 && peer < size && peer != rank else { throw .invalidArgument("\(op) on \(name): peer \(peer) is not another rank of 0..<\(size)") }
        // 32767 is the smallest MPI_TAG_UB the standard allows.
        guard tag >= 0 && tag <= 32767 else { throw .invalidArgument("\(op) on \(name): tag \(tag) is outside 0...32767") }
    }
}

/// A started collective: arrival tokens, then the transfer.
final class MPICollectiveRequest: CommRequest {
    unowned let comm: MPICommunicator
    let signature: OpSignature
    let sequence: Int64
    let post: (UnsafeMutablePointer<MPI_Request?>) -> Int32
    /// `allReduce(sum) of 1024 Float #12`.
    var label: String { "\(signature.summary) #\(sequence)" }

    /// MPI keeps pointers to token buffers until the requests complete, so they are stable
    /// allocations rather than Swift arrays.
    private let peers: [Int]
    private let sendToken = UnsafeMutablePointer<Int64>.allocate(capacity: 5)
    private let receivedTokens: UnsafeMutablePointer<Int64>
    private let tokenRequests: UnsafeMutablePointer<MPI_Request?>
    private var arrived: [Bool]
    private var transfer: MPI_Request?
    private var posted = false
    private var complete = false

    init(comm: MPICommunicator, signature: OpSignature, sequence: Int64, post: @escaping (UnsafeMutablePointer<MPI_Request?>) -> Int32) {
        self.comm = comm; self.signature = signature; self.sequence = sequence; self.post = post
        peers = (0..<comm.size).filter { $0 != comm.rank }
        receivedTokens = .allocate(capacity: 5 * max(1, peers.count))
        tokenRequests = .allocate(capacity: 2 * max(1, peers.count))
        tokenRequests.initialize(repeating: mn_request_null(), count: 2 * max(1, peers.count))
        arrived = Array(repeating: false, count: peers.count)
    }

    deinit {
        sendToken.deallocate(); receivedTokens.deallocate(); tokenRequests.deallocate()
    }

    /// Lock held.
    func postTokens() {
        let words = [sequence] + signature.words
        for i in 0..<5 { sendToken[i] = words[i] }
        let tag = Int32(sequence % 32000)
        for (i, peer) in peers.enumerated() {
            MPI_Irecv(receivedTokens + 5 * i, 5, mn_int64(), Int32(peer), tag, comm.tokenComm, tokenRequests + i)
            MPI_Isend(sendToken, 5, mn_int64(), Int32(peer), tag, comm.tokenComm, tokenRequests + peers.count + i)
        }
    }

    /// Lock held. Tests each outstanding token so that, on a timeout, the missing ones are known.
    func tokensArrived() -> Bool {
        var all = true
        for i in 0..<(2 * peers.count) {
            var flag: Int32 = 0
            MPI_Test(tokenRequests + i, &flag, mn_status_ignore())
            if flag != 0 { if i < peers.count { arrived[i] = true } } else { all = false }
        }
        return all
    }

    /// Lock held.
    func missingPeers() -> [Int] {
        _ = tokensArrived()
        return peers.indices.filter { !arrived[$0] }.map { peers[$0] }
    }

    /// A description of disagreeing tokens, or nil when every rank is at the same call.
    func mismatch() -> String? {
        var lines: [String] = []
        for (i, peer) in peers.enumerated() {
            let t = receivedTokens + 5 * i
            if t[0] != sequence || OpSignature(words: t + 1) != signature {
                let theirs = OpSignature(words: t + 1)?.summary ?? "an unknown operation"
                lines.append("\(comm.describeRank(peer)) called \(theirs) #\(t[0])")
            }
        }
        if lines.isEmpty { return nil }
        return "\(comm.describeRank(comm.rank)) called \(label); " + lines.joined(separator: "; ")
    }

    /// Lock held.
    func postTransfer() {
        let rc = post(&transfer)
        if rc != mn_success() {
            MPIEnvironment.abort("\(label) on \(comm.name): MPI error \(rc): \(MPIEnvironment.errorString(rc))")
        }
        posted = true
    }

    func test() throws(CommError) -> Bool {
        if complete { return true }
        return comm.env.locked {
            comm.progressLocked()
            if posted {
                var flag: Int32 = 0
                MPI_Test(&transfer, &flag, mn_status_ignore())
                complete = flag != 0
            }
            return complete
        }
    }

    func wait() throws(CommError) {
        if complete { return }
        if comm.timeout <= 0 {
            // Timeouts off: plain blocking wait, which is what the arrival phase costs against.
            comm.env.locked {
                comm.progressLocked()
                _ = MPI_Wait(&transfer, mn_status_ignore())
            }
            complete = true
            return
        }
        // Arrival may take as long as another rank's compute; the transfer after it only as long
        // as the bytes take. Both share one deadline.
        let start = monotonicSeconds()
        let arrived = poll(timeout: comm.timeout) { ((try? test()) ?? false) || posted }
        let left = comm.timeout - (monotonicSeconds() - start)
        if !arrived || left <= 0 || !poll(timeout: left, patient: false, { (try? test()) ?? false }) { comm.timedOut(self) }
    }
}

/// A started send or receive, waited on under the communicator's deadline.
final class MPIPointToPointRequest: CommRequest {
    unowned let comm: MPICommunicator
    private var request: MPI_Request?
    let peer: Int
    let operation: String
    private var complete = false

    init(comm: MPICommunicator, request: MPI_Request?, peer: Int, operation: String) {
        self.comm = comm; self.request = request; self.peer = peer; self.operation = operation
    }

    func test() throws(CommError) -> Bool {
        if complete { return true }
        return comm.env.locked {
            var flag: Int32 = 0
            MPI_Test(&request, &flag, mn_status_ignore())
            complete = flag != 0
            return complete
        }
    }

    func wait() throws(CommError) {
        if complete { return }
        let finished = poll(timeout: comm.timeout) { (try? test()) ?? false }
        if !finished {
            MPIEnvironment.abort(CommError.timeout(operation: operation, group: comm.name,
                                                   missing: [comm.worldRanks[peer]], seconds: comm.timeout).description)
        }
    }
}
