import MonolithKernels

/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Returns the pre-clipping L2 norm of all gradients and scales them by
    /// `min(1, maxNorm / (norm + 1e-6))` when `maxNorm > 0`.
    @discardableResult
    public static func clip(_ gradients: FloatBuffer, maxNorm: Float, pool: WorkerPool = .shared) -> Float {
        let norm = Float(Reduction.sumOfSquares(gradients.base, count: gradients.count, pool: pool).squareRoot())
        if maxNorm > 0 {
            let coef = maxNorm / (norm + 1e-6)
            if coef < 1 { Reduction.scale(gradients.base, count: gradients.count, by: coef, pool: pool) }
        }
        return norm
    }
}
