import MonolithModel

/// A step whose gradient norm is NaN or infinite, stopped before the optimizer touches the
/// weights or the moments, as Megatron stops by default. The norm is all-reduced over every rank,
/// so every rank stops at the same step; each names the first of its own tensors whose gradient
/// is not finite (none when another rank's made the norm non-finite).
public struct NonFiniteGradientError: Error, CustomStringConvertible {
    /// The optimizer step that was not taken (the number of steps done before it).
    public let step: Int
    /// This rank's coordinates: data-parallel rank, pipeline stage, tensor rank.
    public let rank: String
    /// The global gradient norm.
    public let norm: Float
    /// The first tensor (Hugging Face name) with a NaN or infinite gradient on this rank.
    public let tensor: String?

    public var description: String {
        "step \(step + 1): a non-finite gradient norm (here, on \(rank): \(norm)); "
            + (tensor.map { "the first non-finite gradient here is \($0)" } ?? "every gradient on this rank is finite (another rank's is not)")
            + "; the step was not applied, so the weights and the last checkpoint are intact"
    }

    /// The first entry of `layout` with a non-finite value in `gradients`, which holds the
    /// elements `owned` of the local buffer.
    static func firstNonFinite(_ gradients: UnsafePointer<Float>, owned: Range<Int>, layout: ShardLayout) -> String? {
        for e in layout.entries {
            let lo = max(e.range.lowerBound, owned.lowerBound), hi = min(e.range.upperBound, owned.upperBound)
            if lo < hi, (lo..<hi).contains(where: { !gradients[$0 - owned.lowerBound].isFinite }) { return e.name }
        }
        return nil
    }
}
