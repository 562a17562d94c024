import CMPI
import Foundation

/// Process-wide Open MPI state: initialized on first use, finalized at exit.
///
/// Initialization is lazy so that commands that never communicate do not pay for it, and a plain
/// `monolith …` without `mpirun` still works as a world of one (Open MPI's singleton mode).
/// The library is initialized with `MPI_THREAD_SERIALIZED` and every call goes through ``lock``:
/// the trainer may poll gradient all-reduces from a worker thread while the main thread sends
/// pipeline activations, and serialized access is all Open MPI guarantees without the slower
/// `MPI_THREAD_MULTIPLE` paths.
public final class MPIEnvironment: @unchecked Sendable {
    /// The one instance; touching it initializes MPI.
    public static let shared = MPIEnvironment()

    /// This process's rank in `MPI_COMM_WORLD`.
    public let worldRank: Int
    /// Number of processes in `MPI_COMM_WORLD`.
    public let worldSize: Int
    /// Serializes every MPI call.
    let lock = NSLock()

    private init() {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let rc = MPI_Init_thread(nil, nil, mn_thread_serialized(), &provided)
            if rc != mn_success() {
                writeStandardError("monolith: MPI_Init_thread failed with code \(rc)\n")
                exit(3)
            }
            // MPI_Finalize must run once, after everything else; exit() (also reached by
            // ArgumentParser's error path) runs atexit handlers.
            atexit { MPIEnvironment.finalize() }
        }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(mn_comm_world(), &rank)
        MPI_Comm_size(mn_comm_world(), &size)
        worldRank = Int(rank)
        worldSize = Int(size)
    }

    /// Whether this process was started by `mpirun`/`srun` (rather than as a world of one).
    /// Read from the launcher's environment, so it does not initialize MPI.
    public static var isLaunchedByMPI: Bool {
        getenv("OMPI_COMM_WORLD_SIZE") != nil || getenv("PMIX_RANK") != nil || getenv("PMI_RANK") != nil
    }

    private static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Prints `message` prefixed with this rank and ends every rank of the job (`MPI_Abort`).
    /// Used for timeouts and mismatches, where other ranks are blocked inside MPI and nothing short
    /// of an abort can release them.
    public static func abort(_ message: String, code: Int32 = 3) -> Never {
        let env = shared
        fflush(nil)  // progress lines already printed should precede the error
        writeStandardError("monolith: world rank \(env.worldRank): error: \(message)\n")
        MPI_Abort(mn_comm_world(), code)
        exit(code)  // MPI_Abort does not return; this satisfies the type checker.
    }

    /// Runs `body` with the MPI lock held.
    @inline(__always)
    func locked<R>(_ body: () -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The MPI datatype of a wire type.
    static func datatype(_ type: CommScalarType) -> MPI_Datatype {
        switch type {
        case .float32: return mn_float()
        case .float64: return mn_double()
        case .int32: return mn_int32()
        case .int64: return mn_int64()
        }
    }

    /// The MPI reduction of a ``ReduceOp``.
    static func operation(_ op: ReduceOp) -> MPI_Op {
        switch op {
        case .sum: return mn_op_sum()
        case .max: return mn_op_max()
        case .min: return mn_op_min()
        }
    }

    /// Open MPI's text for an error code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes straight to file descriptor 2: unbuffered, so the message is out before `MPI_Abort`
/// kills the process, and free of the concurrency checks on C's `stderr` global.
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { break }
        offset += n
    }
}
