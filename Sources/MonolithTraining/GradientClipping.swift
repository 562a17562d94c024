import MonolithKernels

/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Scales `count` gradients by `min(1, maxNorm / (norm + 1e-6))` when `maxNorm > 0`, given the
    /// global `norm` (a sharded trainer computes it across ranks and clips only its own part).
    public static func scale(_ gradients: UnsafeMutablePointer<Float>, count: Int, norm: Float, maxNorm: Float,
                             pool: WorkerPool = .shared) {
        guard maxNorm > 0 else { return }
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 { Reduction.scale(gradients, count: count, by: coef, pool: pool) }
    }
}
