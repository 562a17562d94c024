import Foundation

/// A progress bar on standard error: documents done, documents per second and the time left.
/// On a terminal it redraws one line (at most ten times a second); otherwise it prints a line at
/// every tenth of the way, so logs stay readable.
///
/// ```text
/// hellaswag  [##########----------]  150/300 docs  41.2 docs/s  ETA 0:04
/// ```
public final class ProgressBar {
    let label: String
    let total: Int
    let isTerminal: Bool
    let enabled: Bool
    let start = Date()
    var done = 0
    var lastDraw = Date.distantPast
    var lastDecile = -1

    /// A bar for `total` documents; `enabled: false` draws nothing.
    public init(label: String, total: Int, enabled: Bool = true) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled
        isTerminal = isatty(2) != 0
    }

    /// Records `n` more documents done.
    public func advance(_ n: Int) {
        done += n
        guard enabled else { return }
        let now = Date()
        if isTerminal {
            if now.timeIntervalSince(lastDraw) >= 0.1 || done >= total { draw(now) }
        } else if done > 0 {
            let decile = done * 10 / total
            if decile > lastDecile { lastDecile = decile; draw(now) }
        }
    }

    /// Ends the bar's line.
    public func finish() {
        guard enabled else { return }
        if isTerminal {
            draw(Date())
            FileHandle.standardError.write(Data("\n".utf8))
        } else if lastDecile < 10 {
            draw(Date())
        }
    }

    /// Documents per second so far.
    public var rate: Double { Double(done) / max(Date().timeIntervalSince(start), 1e-9) }

    func draw(_ now: Date) {
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let width = 20, filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = rate > 0 ? Self.clock(Double(total - done) / rate) : "?"
        let line = "\(label)  [\(bar)]  \(done)/\(total) docs  \(String(format: "%.1f", rate)) docs/s  ETA \(eta)  (\(Self.clock(elapsed)) elapsed)"
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).utf8))
    }

    /// `m:ss` or `h:mm:ss`.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
