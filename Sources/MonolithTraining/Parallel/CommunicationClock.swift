import Foundation

/// Adds up the wall-clock seconds a trainer step spends inside collectives, for
/// ``Trainer/lastCommunicationSeconds`` and the benchmark's communication fraction.
final class CommunicationClock {
    /// Seconds accumulated so far.
    private(set) var seconds = 0.0

    /// Runs `body`, adding its duration.
    func time<R>(_ body: () throws -> R) rethrows -> R {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
        return try body()
    }
}
