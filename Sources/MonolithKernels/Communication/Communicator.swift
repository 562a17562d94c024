/// Reduction applied elementwise by all-reduce and reduce-scatter.
public enum ReduceOp: Int, Sendable, CustomStringConvertible {
    case sum = 0, max = 1, min = 2
    public var description: String { ["sum", "max", "min"][rawValue] }
}

/// The element types a ``Communicator`` moves: the MPI datatype and the reduction are picked from
/// the conformance, so one generic entry point serves gradients (Float), losses (Double) and
/// counts or configuration hashes (Int32, Int64).
public protocol CommScalar: Numeric, Comparable, Sendable {
    /// Which wire type this is (also carried in arrival tokens to catch mismatched calls).
    static var commType: CommScalarType { get }
}

/// Wire types understood by both backends.
public enum CommScalarType: Int, Sendable, CustomStringConvertible {
    case float32 = 1, float64 = 2, int32 = 3, int64 = 4
    public var description: String { ["", "Float", "Double", "Int32", "Int64"][rawValue] }
}

extension Float: CommScalar { public static var commType: CommScalarType { .float32 } }
extension Double: CommScalar { public static var commType: CommScalarType { .float64 } }
extension Int32: CommScalar { public static var commType: CommScalarType { .int32 } }
extension Int64: CommScalar { public static var commType: CommScalarType { .int64 } }

/// A pending non-blocking operation. Buffers passed to the call that returned it must stay valid
/// and untouched until ``wait()`` returns.
public protocol CommRequest: AnyObject {
    /// Advances the operation without blocking; `true` once it has completed.
    func test() throws(CommError) -> Bool
    /// Blocks until the operation completes. Waiting longer than the communicator's timeout ends
    /// every rank with an error that names the operation, the group and the ranks that are missing.
    func wait() throws(CommError)
}

/// A group of ranks that exchange data: the whole world, or a tensor-, pipeline- or data-parallel
/// sub-group made with ``split(color:key:label:)``.
///
/// Every member must call the same collectives in the same order with the same sizes (as in MPI);
/// both backends check this with arrival tokens and report a mismatch instead of corrupting data.
/// Buffers are unsafe pointers because the data lives in the trainer's flat `FloatBuffer`s; the
/// array conveniences in the extension below are for small values such as losses and counts.
///
/// ```swift
/// let world = MPICommunicator.world()
/// var loss: [Double] = [localLoss]
/// try world.allReduce(&loss, op: .sum)      // every rank now holds the sum
/// ```
///
/// **Timeouts.** A rank that waits in one operation for longer than ``timeout`` seconds (default
/// 300, environment `MONOLITH_COMM_TIMEOUT`, 0 disables) stops the whole job with an error such as
/// `communication timeout after 300 s: allReduce(sum) #12 of 1024 Float on dp group of world ranks
/// [0, 2]: world rank 2 (group rank 1) did not arrive`. A silent hang is never the outcome.
public protocol Communicator: AnyObject, Sendable {
    /// This process's (or thread's) rank in the group, `0 ..< size`.
    var rank: Int { get }
    /// Number of ranks in the group.
    var size: Int { get }
    /// World rank of each member, indexed by group rank.
    var worldRanks: [Int] { get }
    /// Human-readable identity for errors, e.g. `dp group of world ranks [0, 2]`.
    var name: String { get }
    /// Seconds a rank may block in one operation before every rank is stopped; 0 means forever.
    var timeout: Double { get set }

    /// Reduces `buffer` elementwise over all ranks; every rank receives the result in place.
    func allReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError)
    /// Non-blocking ``allReduce(_:op:)``: returns at once; the result is in `buffer` after `wait()`.
    func startAllReduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError) -> any CommRequest
    /// Reduces `input` (`size · n` elements) over all ranks and gives rank `r` the block
    /// `r·n ..< (r+1)·n` of the result in `output` (`n` elements).
    func reduceScatter<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                      op: ReduceOp) throws(CommError)
    /// In-place reduce-scatter: `buffer` holds `size · n` elements; afterwards block `rank` holds the
    /// reduced values and the other blocks are unspecified. ZeRO uses this on the flat gradient.
    func reduceScatter<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws(CommError)
    /// Concatenates every rank's `input` (`n` elements) in rank order into `output` (`size · n`).
    func allGather<T: CommScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws(CommError)
    /// In-place all-gather: block `rank` of `buffer` (`size · n` elements) is this rank's input;
    /// afterwards every block holds its owner's values. ZeRO uses this on the flat parameters.
    func allGather<T: CommScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>) throws(CommError)
    /// Copies `root`'s `buffer` to every rank.
    func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws(CommError)
    /// Returns once every rank has entered the barrier.
    func barrier() throws(CommError)

    /// Sends `buffer` to group rank `peer`; returns when the buffer may be reused.
    func send<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError)
    /// Receives exactly `buffer.count` elements from group rank `peer` with a matching tag.
    func receive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError)
    /// Non-blocking ``send(_:to:tag:)``.
    func startSend<T: CommScalar>(_ buffer: UnsafeBufferPointer<T>, to peer: Int, tag: Int) throws(CommError) -> any CommRequest
    /// Non-blocking ``receive(into:from:tag:)``. Receives posted for the same peer and tag match
    /// messages in the order they were posted.
    func startReceive<T: CommScalar>(into buffer: UnsafeMutableBufferPointer<T>, from peer: Int, tag: Int) throws(CommError) -> any CommRequest

    /// Collective: partitions the group by `color`; members with equal colors form a new group,
    /// ordered by `key` (ties by current rank). A `nil` color joins no group and gets `nil`.
    /// `label` names the new group in errors (`"dp"` gives `dp group of world ranks [0, 2]`).
    func split(color: Int?, key: Int, label: String) throws(CommError) -> (any Communicator)?
}

extension Communicator {
    /// The name a sub-group gets: `"<label> group of world ranks [a, b, …]"`.
    public static func groupName(label: String, worldRanks: [Int]) -> String {
        "\(label) group of world ranks \(worldRanks)"
    }

    /// ``split(color:key:label:)`` with the generic label `split`.
    public func split(color: Int?, key: Int) throws(CommError) -> (any Communicator)? {
        try split(color: color, key: key, label: "split")
    }

    /// Describes group rank `r` for errors: `world rank 5 (group rank 1)`.
    public func describeRank(_ r: Int) -> String {
        r >= 0 && r < worldRanks.count ? "world rank \(worldRanks[r]) (group rank \(r))" : "group rank \(r)"
    }

    /// In-place all-reduce of a Swift array.
    public func allReduce<T: CommScalar>(_ values: inout [T], op: ReduceOp) throws(CommError) {
        try withMutableBuffer(&values) { (b) throws(CommError) in try allReduce(b, op: op) }
    }

    /// All-reduce of one value.
    public func allReduce<T: CommScalar>(_ value: T, op: ReduceOp) throws(CommError) -> T {
        var v = [value]
        try allReduce(&v, op: op)
        return v[0]
    }

    /// Broadcast of a Swift array; every rank must pass an array of the same length.
    public func broadcast<T: CommScalar>(_ values: inout [T], root: Int) throws(CommError) {
        try withMutableBuffer(&values) { (b) throws(CommError) in try broadcast(b, root: root) }
    }

    /// Every rank's `values` (all the same length), concatenated in rank order.
    public func allGather<T: CommScalar>(_ values: [T]) throws(CommError) -> [T] {
        var out = [T](repeating: .zero, count: values.count * size)
        try withReadBuffer(values) { (input) throws(CommError) in
            try withMutableBuffer(&out) { (b) throws(CommError) in try allGather(input, into: b) }
        }
        return out
    }

    /// Fails on every rank when `text` (for example a serialized configuration) is not identical on
    /// all ranks, naming the ranks that differ from rank 0. Compares a 64-bit FNV-1a hash, which,
    /// unlike Swift's `Hasher`, is the same in every process.
    public func ensureIdentical(_ text: String, what: String) throws(CommError) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let all = try allGather([Int64(bitPattern: hash)])
        let differing = all.indices.filter { all[$0] != all[0] }
        if !differing.isEmpty {
            throw .mismatch(operation: "ensureIdentical(\(what))", group: name,
                            detail: "\(what) differs from world rank \(worldRanks[0])'s on world ranks \(differing.map { worldRanks[$0] })")
        }
    }
}

/// Runs `body` on an array's storage with typed throws (the standard library's closure-taking
/// methods rethrow untyped errors, which would widen every signature to `any Error`).
@usableFromInline
func withMutableBuffer<T, E: Error>(_ values: inout [T], _ body: (UnsafeMutableBufferPointer<T>) throws(E) -> Void) throws(E) {
    var failure: E?
    values.withUnsafeMutableBufferPointer { b in
        do throws(E) { try body(b) } catch { failure = error }
    }
    if let failure { throw failure }
}

/// `withUnsafeBufferPointer` with a typed error.
@usableFromInline
func withReadBuffer<T, E: Error>(_ values: [T], _ body: (UnsafeBufferPointer<T>) throws(E) -> Void) throws(E) {
    var failure: E?
    values.withUnsafeBufferPointer { b in
        do throws(E) { try body(b) } catch { failure = error }
    }
    if let failure { throw failure }
}
