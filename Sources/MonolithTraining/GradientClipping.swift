import MonolithKernels

/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Scales `count` gradients by `min(1, maxNorm / (norm + 1e-6))` when `maxNorm > 0`, given the
    /// global `norm` (a sharded trainer computes it across ranks and clips only its own part).
    ///
    /// Gradients still multiplied by fp16's `lossScale` (a power of two, so dividing by it is exact)
    /// are unscaled in the same pass; `norm` is then the unscaled one.
    public static func scale(_ gradients: UnsafeMutablePointer<Float>, count: Int, norm: Float, maxNorm: Float,
                             lossScale: Float = 1, pool: WorkerPool = .shared) {
        let coef = maxNorm > 0 ? min(1, maxNorm / (norm + 1e-6)) : 1
        if coef / lossScale != 1 { Reduction.scale(gradients, count: count, by: coef / lossScale, pool: pool) }
    }
}
