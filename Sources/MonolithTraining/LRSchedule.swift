#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MonolithModel

/// Linear warm-up, then cosine decay to a floor, as nanoGPT's `get_lr`.
///
/// For 0-based step `i`: `lr·(i+1)/warmup` while `i < warmup`; then
/// `min + ½(1 + cos(π·(i − warmup)/(decay − warmup)))·(lr − min)` until `decay`; `min` after.
public struct LRSchedule: Codable, Sendable, Equatable {
    /// Peak learning rate, reached at the end of warm-up.
    public var lr: Float = 6e-4
    /// Floor reached at `decaySteps`.
    public var minLR: Float = 6e-5
    /// Steps of linear warm-up.
    public var warmupSteps: Int = 0
    /// Step at which the cosine reaches `minLR`.
    public var decaySteps: Int = 1

    enum CodingKeys: String, CodingKey {
        case lr, minLR = "min_lr", warmupSteps = "warmup_steps", decaySteps = "decay_steps"
    }

    /// Creates a schedule.
    public init(lr: Float, minLR: Float, warmupSteps: Int, decaySteps: Int) {
        self.lr = lr; self.minLR = minLR; self.warmupSteps = warmupSteps; self.decaySteps = decaySteps
    }

    /// Checks every field.
    public func validate() throws {
        if !(lr > 0) { throw ConfigError(field: "optimizer.lr", "must be positive, got \(lr)") }
        if !(minLR >= 0 && minLR <= lr) { throw ConfigError(field: "schedule.min_lr", "must be in [0, lr], got \(minLR)") }
        if warmupSteps < 0 { throw ConfigError(field: "schedule.warmup_steps", "must be ≥ 0, got \(warmupSteps)") }
        if decaySteps < warmupSteps { throw ConfigError(field: "schedule.decay_steps", "\(decaySteps) must be ≥ warmup_steps (\(warmupSteps))") }
    }

    /// The learning rate for 0-based step `step`.
    public func lr(at step: Int) -> Float {
        if step < warmupSteps { return lr * Float(step + 1) / Float(warmupSteps) }
        if step >= decaySteps { return minLR }
        let ratio = Double(step - warmupSteps) / Double(max(1, decaySteps - warmupSteps))
        let coeff = 0.5 * (1 + cos(Double.pi * ratio))
        return minLR + Float(coeff) * (lr - minLR)
    }
}
