import MonolithKernels

/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Returns the pre-clipping L2 norm of all gradients and scales them by
    /// `min(1, maxNorm / (norm + 1e-6))` when `maxNorm > 0`.
    @discardableResult
    public static func clip(_ gradients: FloatBuffer, maxNorm: Float, pool: WorkerPool = .shared) -> Float {
        let norm = Float(Reduction.sumOfSquares(gradients.base, count: gradients.count, pool: pool).squareRoot())
        scale(gradients.base, count: gradients.count, norm: norm, maxNorm: maxNorm, pool: pool)
        return norm
    }

    /// Scales `count` gradients by `min(1, maxNorm / (norm + 1e-6))` when `maxNorm > 0`, given the
    /// global `norm` (a sharded trainer computes it across ranks and clips only its own part).
    public static func scale(_ gradients: UnsafeMutablePointer<Float>, count: Int, norm: Float, maxNorm: Float,
                             pool: WorkerPool = .shared) {
        guard maxNorm > 0 else { return }
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 { Reduction.scale(gradients, count: count, by: coef, pool: pool) }
    }
}
