import MonolithKernels
import MonolithModel

/// AdamW hyper-parameters.
public struct AdamWConfig: Codable, Sendable, Equatable {
    /// First-moment decay β₁.
    public var beta1: Float = 0.9
    /// Second-moment decay β₂.
    public var beta2: Float = 0.95
    /// Denominator epsilon.
    public var eps: Float = 1e-8
    /// Decoupled weight decay, applied to 2-D weights only (embeddings and matrices).
    public var weightDecay: Float = 0.1

    /// Creates a configuration (defaults: β = (0.9, 0.95), ε = 1e-8, decay 0.1).
    public init(beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8, weightDecay: Float = 0.1) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    /// Checks every field.
    public func validate() throws {
        if !(beta1 >= 0 && beta1 < 1) { throw ConfigError(field: "optimizer.beta1", "must be in [0, 1), got \(beta1)") }
        if !(beta2 >= 0 && beta2 < 1) { throw ConfigError(field: "optimizer.beta2", "must be in [0, 1), got \(beta2)") }
        if !(eps > 0) { throw ConfigError(field: "optimizer.eps", "must be positive, got \(eps)") }
        if !(weightDecay >= 0) { throw ConfigError(field: "optimizer.weight_decay", "must be ≥ 0, got \(weightDecay)") }
    }
}

/// AdamW over a flat parameter buffer, with both moments in the same layout as the parameters.
///
/// Under ZeRO stage ≥ 1 an instance owns only ``range``, the rank's slot of the flat buffer: its
/// moments are `range.count` long and ``step(parameters:gradients:lr:)`` updates only that slice
/// (the other slices are updated by the other data-parallel ranks and all-gathered).
public final class AdamW {
    /// Hyper-parameters.
    public let config: AdamWConfig
    /// First and second moments of the parameters in ``range`` (index 0 is `range.lowerBound`).
    public let m: FloatBuffer, v: FloatBuffer
    /// The part of the flat parameter buffer this optimizer updates (everything unless sharded).
    public let range: Range<Int>
    /// Steps taken so far.
    public private(set) var stepCount = 0
    /// Decay runs intersected with ``range``, relative to its start.
    private let runs: [(range: Range<Int>, decay: Bool)]
    private let pool: WorkerPool

    /// Creates zeroed moments for a flat buffer of `count` parameters whose weight-decay runs are
    /// `decayRuns` (a model-parallel shard's own layout), or for the slice `shard` of it.
    public init(config: AdamWConfig, count: Int, decayRuns: [(range: Range<Int>, decay: Bool)], shard: Range<Int>? = nil,
                slotSize: Int = 0, pool: WorkerPool = .shared) throws {
        try config.validate()
        self.config = config
        self.pool = pool
        let range = shard ?? 0..<count
        self.range = range
        m = FloatBuffer(count: max(range.count, slotSize, 1))
        v = FloatBuffer(count: max(range.count, slotSize, 1))
        runs = decayRuns.compactMap { run in
            let lo = max(run.range.lowerBound, range.lowerBound), hi = min(run.range.upperBound, range.upperBound)
            return lo < hi ? ((lo - range.lowerBound)..<(hi - range.lowerBound), run.decay) : nil
        }
    }

    /// Applies one update with learning rate `lr` to ``range`` of the flat `parameters`, reading
    /// the gradients at the same offsets of `gradients`.
    public func step(parameters: FloatBuffer, gradients: FloatBuffer, lr: Float) {
        step(parameters: parameters.base + range.lowerBound, gradients: gradients.base + range.lowerBound, lr: lr)
    }

    /// Applies one update to the ``range``-sized slice starting at `parameters`, with its gradients
    /// starting at `gradients` (ZeRO-2 keeps only the shard's gradients, in a buffer of their own).
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, lr: Float) {
        stepCount += 1
        let s = AdamWKernel.Step(lr: lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, t: stepCount)
        let p = parameters, g = gradients, mb = m.base, vb = v.base
        let runs = runs, wd = config.weightDecay, total = range.count
        guard total > 0 else { return }
        // One dispatch: each thread walks the decay runs that intersect its slice.
        pool.parallelFor(total, alignment: 1024) { slice in
            for run in runs {
                let lo = max(run.range.lowerBound, slice.lowerBound), hi = min(run.range.upperBound, slice.upperBound)
                if lo < hi {
                    AdamWKernel.update(params: p, grads: g, m: mb, v: vb, range: lo..<hi, step: s, decay: run.decay ? wd : 0)
                }
            }
        }
    }

    /// Restores the step counter (when loading optimizer state).
    public func setStepCount(_ n: Int) { stepCount = n }
}
