#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a communication operation failed. With the Open MPI backend a timeout or mismatch never
/// returns: the message is printed and every rank is aborted, because the other ranks are stuck
/// inside MPI and cannot be unwound. The in-process backend throws these instead, so tests can
/// read them.
public enum CommError: Error, Equatable, CustomStringConvertible {
    /// A rank blocked in `operation` for `seconds` without it completing. `missing` lists the world
    /// ranks that never arrived; it is empty when every rank arrived but the operation still
    /// stalled (a rank that died mid-transfer).
    case timeout(operation: String, group: String, missing: [Int], seconds: Double)
    /// Ranks reached the same point with different calls or sizes (as MPI would silently misuse).
    case mismatch(operation: String, group: String, detail: String)
    /// This rank stopped because another rank failed; the payload is that rank's error.
    case aborted(String)
    /// A caller error: wrong buffer lengths, a peer outside the group, a bad root.
    case invalidArgument(String)
    /// An MPI call returned an error code.
    case mpi(function: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case let .timeout(operation, group, missing, seconds):
            let who = missing.isEmpty
                ? "every rank arrived but the operation did not finish (a rank may have died mid-transfer)"
                : "did not arrive: world rank\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", "))"
            return "communication timeout after \(formatSeconds(seconds)): \(operation) on \(group): \(who)"
        case let .mismatch(operation, group, detail):
            return "mismatched communication on \(group) at \(operation): \(detail)"
        case let .aborted(reason):
            return "stopped because another rank failed: \(reason)"
        case let .invalidArgument(message):
            return "invalid communication call: \(message)"
        case let .mpi(function, code, message):
            return "\(function) failed with MPI error \(code): \(message)"
        }
    }

    /// World ranks a timeout names as missing (empty for other errors).
    public var missingRanks: [Int] {
        if case let .timeout(_, _, missing, _) = self { return missing }
        return []
    }
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
}

/// Defaults shared by both backends.
public enum CommDefaults {
    /// Seconds a rank may block in one operation: `MONOLITH_COMM_TIMEOUT` if set (0 disables the
    /// check), else 300. Five minutes is far above any legitimate wait at the scales this runs at
    /// (the slowest is a pipeline stage waiting out the warm-up of the stages before it) and far
    /// below the point where someone would give up on a silent hang.
    public static var timeout: Double {
        if let raw = getenv("MONOLITH_COMM_TIMEOUT"), let v = Double(String(cString: raw)), v >= 0 { return v }
        return 300
    }
}
