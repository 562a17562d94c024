#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The AdamW update over a contiguous range, with PyTorch's operation order
/// (`torch.optim.AdamW`): decoupled decay, moment updates, bias-corrected step.
public enum AdamWKernel {
    /// Hyper-parameters for one update.
    public struct Step: Sendable {
        /// Learning rate for this step.
        public var lr: Float
        /// First-moment decay β₁.
        public var beta1: Float
        /// Second-moment decay β₂.
        public var beta2: Float
        /// Denominator epsilon.
        public var eps: Float
        /// 1-based step count, for bias correction.
        public var t: Int
        /// Creates the hyper-parameters for step `t`.
        public init(lr: Float, beta1: Float, beta2: Float, eps: Float, t: Int) {
            self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.t = t
        }
    }

    /// Updates `params`, `m`, `v` in place from `grads` over `range`, with weight decay `decay`.
    @inlinable
    public static func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                              m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                              range: Range<Int>, step s: Step, decay: Float) {
        let bc1 = 1 - powf(s.beta1, Float(s.t))
        let bc2Sqrt = (1 - powf(s.beta2, Float(s.t))).squareRoot()
        let stepSize = s.lr / bc1
        let keep = Vec(repeating: 1 - s.lr * decay)
        let b1 = Vec(repeating: s.beta1), ob1 = Vec(repeating: 1 - s.beta1)
        let b2 = Vec(repeating: s.beta2), ob2 = Vec(repeating: 1 - s.beta2)
        let invBc2 = Vec(repeating: 1 / bc2Sqrt), eps = Vec(repeating: s.eps), neg = Vec(repeating: -stepSize)
        var i = range.lowerBound
        while i + vecWidth <= range.upperBound {
            let g = load(grads + i)
            let mi = load(m + i) * b1 + ob1 * g
            let vi = load(v + i) * b2 + ob2 * g * g
            store(mi, m + i); store(vi, v + i)
            let denom = vi.squareRoot() * invBc2 + eps
            store((load(params + i) * keep).addingProduct(neg, mi / denom), params + i)
            i += vecWidth
        }
        while i < range.upperBound {
            let g = grads[i]
            m[i] = m[i] * s.beta1 + (1 - s.beta1) * g
            v[i] = v[i] * s.beta2 + (1 - s.beta2) * g * g
            let denom = v[i].squareRoot() / bc2Sqrt + s.eps
            params[i] = params[i] * (1 - s.lr * decay) - stepSize * m[i] / denom
            i += 1
        }
    }
}

/// Reductions and scaling over flat float buffers.
public enum Reduction {
    /// `Σ x[i]²` over `count` floats, accumulated in Float lanes per 4096-chunk and in Double across chunks.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int, pool: WorkerPool = .shared) -> Double {
        var partial = [Double](repeating: 0, count: pool.threadCount)
        partial.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            pool.run { t in
                var total = 0.0
                var i = WorkerPool.chunk(t, of: pool.threadCount, count: count, alignment: vecWidth).lowerBound
                let end = WorkerPool.chunk(t, of: pool.threadCount, count: count, alignment: vecWidth).upperBound
                while i < end {
                    let stop = min(end, i + 4096)
                    var acc = Vec()
                    while i + vecWidth <= stop { let v = load(x + i); acc = acc.addingProduct(v, v); i += vecWidth }
                    var s = Double(acc.sum())
                    while i < stop { s += Double(x[i] * x[i]); i += 1 }
                    total += s
                }
                outBase[t] = total
            }
        }
        return partial.reduce(0, +)
    }

    /// `x[i] *= factor` over `count` floats.
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float, pool: WorkerPool = .shared) {
        let f = Vec(repeating: factor)
        pool.parallelFor(count, alignment: vecWidth) { range in
            var i = range.lowerBound
            while i + vecWidth <= range.upperBound { store(load(x + i) * f, x + i); i += vecWidth }
            while i < range.upperBound { x[i] *= factor; i += 1 }
        }
    }
}
