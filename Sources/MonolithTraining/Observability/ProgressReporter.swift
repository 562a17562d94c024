import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows training progress: a single redrawn status line on a terminal, or plain log lines
/// (every `interval` steps) when output goes to a file or pipe.
public final class ProgressReporter {
    /// How progress is shown.
    public enum Mode: Sendable { case bar, lines, none }
    let mode: Mode
    let interval: Int
    let total: Int
    private var barShown = false

    /// `auto` picks a bar when stderr is a terminal, lines otherwise.
    public init(requested: ProgressMode, interval: Int, totalSteps: Int) {
        switch requested {
        case .bar: mode = .bar
        case .lines: mode = .lines
        case .none: mode = .none
        case .auto: mode = isatty(STDERR_FILENO) != 0 ? .bar : .lines
        }
        self.interval = interval
        total = totalSteps
    }

    /// Reports step `step` (1-based count of completed steps).
    public func step(_ step: Int, loss: Float, lr: Float, tokensPerSecond: Double, mfu: Double, eta: Double, gradNorm: Float) {
        switch mode {
        case .none: return
        case .bar:
            let width = 24, filled = Int(Double(width) * Double(step) / Double(max(1, total)))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = String(format: "\r%@ %d/%d  loss %.4f  lr %.2e  %.0f tok/s  MFU %.1f%%  ETA %@ ", bar, step, total, loss, lr,
                              tokensPerSecond, 100 * mfu, Self.duration(eta))
            FileHandle.standardError.write(Data(line.utf8))
            barShown = true
        case .lines:
            guard step % interval == 0 || step == total || step == 1 else { return }
            print(String(format: "step %d/%d  loss %.4f  lr %.3e  grad-norm %.3f  %.0f tok/s  MFU %.1f%%  ETA %@",
                         step, total, loss, lr, gradNorm, tokensPerSecond, 100 * mfu, Self.duration(eta)))
            fflush(nil)
        }
    }

    /// Prints a message without breaking the bar.
    public func message(_ text: String) {
        if barShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(text)
        fflush(nil)
    }

    /// Ends the bar's line.
    public func finish() {
        if barShown { FileHandle.standardError.write(Data("\n".utf8)); barShown = false }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
