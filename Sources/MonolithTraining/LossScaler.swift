/// Dynamic loss scaling for fp16 training, as Megatron's `DynamicGradScaler` and DeepSpeed's
/// `DynamicLossScaler` do it: the loss gradient is multiplied by ``scale`` so small gradients
/// survive fp16's narrow range, the gradients are divided by it again before clipping and the
/// optimizer, and a step whose gradients overflowed is skipped.
///
/// - An overflow (an infinite or NaN gradient anywhere, the flag all-reduced over every rank)
///   halves the scale, down to ``minimum``, and the step is skipped.
/// - After ``window`` clean steps in a row the scale doubles.
///
/// Megatron's default hysteresis of 2 (halving only on the second overflow in a row) is not
/// modelled: every overflow halves, as the issue and DeepSpeed's `hysteresis = 1` do.
public struct LossScaler: Codable, Sendable, Equatable {
    /// The factor the loss gradient is multiplied by.
    public private(set) var scale: Float
    /// Clean steps since the last overflow or growth.
    public private(set) var cleanSteps = 0
    /// Clean steps in a row before the scale doubles.
    public let window: Int
    /// The scale never drops below this.
    public let minimum: Float

    enum CodingKeys: String, CodingKey {
        case scale, cleanSteps = "clean_steps", window, minimum
    }

    /// A scaler starting at `initial` (Megatron's and DeepSpeed's default 2¹⁶).
    public init(initial: Float = 65536, window: Int = 1000, minimum: Float = 1) {
        scale = initial; self.window = window; self.minimum = minimum
    }

    /// Records a step: an overflow halves the scale, the `window`-th clean step in a row doubles it.
    public mutating func update(overflow: Bool) {
        if overflow {
            scale = max(scale / 2, minimum)
            cleanSteps = 0
        } else {
            cleanSteps += 1
            if cleanSteps >= window {
                scale *= 2
                cleanSteps = 0
            }
        }
    }
}
