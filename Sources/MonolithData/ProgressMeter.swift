#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Throttled progress lines on standard error: documents/s and MB/s.
///
/// On a terminal the line is redrawn in place; in a log file a new line is written every few
/// seconds, so captured logs stay readable.
public final class ProgressMeter {
    /// Label at the start of each line, e.g. `preprocess`.
    public let label: String
    private let start = monotonicSeconds()
    private var last: Double
    private let interval: Double
    private let terminal: Bool
    private let enabled: Bool
    private var drewInPlace = false

    /// A meter printing at most every `interval` seconds (every 5 s when not on a terminal).
    public init(label: String, enabled: Bool = true, interval: Double = 0.5) {
        self.label = label
        self.enabled = enabled
        terminal = isatty(2) != 0
        self.interval = terminal ? interval : max(interval, 5)
        last = start
    }

    /// Seconds since the meter was created.
    public var elapsed: Double { monotonicSeconds() - start }

    /// Reports progress if the interval has passed. `extra` is appended (e.g. token counts).
    public func update(documents: Int, bytes: Int, extra: String = "") {
        guard enabled else { return }
        let now = monotonicSeconds()
        guard now - last >= interval else { return }
        last = now
        let line = Self.rates(label: label, documents: documents, bytes: bytes, seconds: now - start) + extra
        if terminal {
            printErrorRaw("\r\u{1B}[K" + line)
            drewInPlace = true
        } else {
            printError(line)
        }
    }

    /// Ends an in-place line so the summary starts on a fresh one.
    public func finish() {
        if drewInPlace { printErrorRaw("\n"); drewInPlace = false }
    }

    /// `label: N docs, X MB, D docs/s, R MB/s`.
    public static func rates(label: String, documents: Int, bytes: Int, seconds: Double) -> String {
        let s = max(seconds, 1e-9)
        let mb = Double(bytes) / 1e6
        return "\(label): \(documents) docs, \(format(mb, 1)) MB in \(format(seconds, 1)) s, "
            + "\(format(Double(documents) / s, 0)) docs/s, \(format(mb / s, 2)) MB/s"
    }

    /// `value` with `digits` decimals.
    public static func format(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = digits == 0 ? String(Int(rounded)) : String(rounded)
        if digits > 0 {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            if fraction.contains("e") { return text }
            text = String(parts[0]) + "." + fraction.padding(digits)
        }
        return text
    }
}

private extension String {
    func padding(_ n: Int) -> String { count >= n ? String(prefix(n)) : self + String(repeating: "0", count: n - count) }
}

private func printErrorRaw(_ text: String) {
    var t = text
    t.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
