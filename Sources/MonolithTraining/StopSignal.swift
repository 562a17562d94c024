import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM handling for long runs: the first signal asks the loop to checkpoint and stop at
/// the end of the current step; a second one exits immediately.
public enum StopSignal {
    static let requested = Atomic<Int>(0)

    /// Installs the handlers.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if StopSignal.requested.add(1, ordering: .sequentiallyConsistent).newValue > 1 { _exit(128 + sig) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) > 0 }
}
