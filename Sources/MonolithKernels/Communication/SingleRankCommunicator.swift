/// A group of one rank: every collective is the identity (or a copy), so code written for a
/// tensor-, pipeline- or data-parallel group runs unchanged in a single process, as Megatron-Core's
/// mappings do when their group has one rank. Point-to-point calls have no peer and fail.
///
/// ```swift
/// let layer = TransformerLayer(config: config, group: SingleRankCommunicator())   // tp = 1
/// ```
public final class SingleRankCommunicator: Communicator, @unchecked Sendable {
    public let rank = 0
    public let size = 1
    public let worldRanks = [0]
    public let name: String
    public var timeout: Double = 0

    /// A group called `name` in errors.
    public init(name: String = "single-rank group") { self.name = name }

    public func allReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) {}

    public func startAllReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) -> any CommRequest {
        CompletedRequest()
    }

    public func reduceScatter<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                             op: ReduceOp) throws(CommError) {
        try copy(input, into: output, "reduceScatter")
    }

    public func reduceScatter<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) {}

    public func allGather<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws(CommError) {
        try copy(input, into: output, "allGather")
    }

    public func allGather<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(CommError) {}

    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(CommError) {
        guard root == 0 else { throw .invalidArgument("broadcast from rank \(root) in \(name), which has one rank") }
    }

    public func barrier() throws(CommError) {}

    public func send<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) {
        throw .invalidArgument("send to rank \(peer) in \(name), which has one rank")
    }

    public func receive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError) {
        throw .invalidArgument("receive from rank \(peer) in \(name), which has one rank")
    }

    public func startSend<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) -> any CommRequest {
        throw .invalidArgument("send to rank \(peer) in \(name), which has one rank")
    }

    public func startReceive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int,
                                            tag: Int) throws(CommError) -> any CommRequest {
        throw .invalidArgument("receive from rank \(peer) in \(name), which has one rank")
    }

    public func split(color: Int?, key: Int, label: String) throws(CommError) -> (any Communicator)? {
        color == nil ? nil : SingleRankCommunicator(name: Self.groupName(label: label, worldRanks: worldRanks))
    }

    private func copy<T>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, _ op: String) throws(CommError) {
        guard input.count == output.count else {
            throw .invalidArgument("\(op) on \(name): \(input.count) elements in, \(output.count) out")
        }
        if input.baseAddress != UnsafePointer(output.baseAddress) {
            output.baseAddress?.update(from: input.baseAddress!, count: input.count)
        }
    }

    /// The request of an operation that finished when it started.
    final class CompletedRequest: CommRequest {
        func test() throws(CommError) -> Bool { true }
        func wait() throws(CommError) {}
    }
}
