import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// `AdamWKernel.update` against PyTorch's `torch.optim.AdamW` formula, evaluated in Double.
///
/// The reference follows PyTorch's order of operations: decoupled decay `p ← p·(1 − lr·λ)`, the
/// moment updates, then `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`. Several steps with a changing
/// learning rate check the bias corrections as `t` grows; lengths straddle the SIMD width because
/// the vector body and the scalar tail restate the formula (the body multiplies by 1/√bc₂, the tail
/// divides). Gradients include tiny values so that ε matters and zeros so that m and v decay.
@Suite("AdamW kernel")
struct AdamWKernelTests {
    static let lengths = [1, 15, 16, 17, 40, 77]

    @Test("several steps match the PyTorch formula in Double", arguments: lengths, [0, 0.1] as [Float])
    func matchesPyTorchFormula(count: Int, decay: Float) {
        var g = SeededGenerator(seed: 100 + UInt64(count))
        var params = g.floats(count, in: -2...2), m = zeros(count), v = zeros(count)
        var refParams = params.map(Double.init), refM = [Double](repeating: 0, count: count), refV = refM
        let beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8
        for t in 1...6 {
            let lr = Float(6e-4) * Float(t) / 6
            var grads = g.floats(count, in: -1...1)
            for i in grads.indices where i % 5 == 1 { grads[i] *= 1e-7 }
            for i in grads.indices where i % 7 == 3 { grads[i] = 0 }
            AdamWKernel.update(params: &params, grads: grads, m: &m, v: &v, range: 0..<count,
                               step: .init(lr: lr, beta1: beta1, beta2: beta2, eps: eps, t: t), decay: decay)
            let bc1 = 1 - pow(Double(beta1), Double(t)), bc2 = 1 - pow(Double(beta2), Double(t))
            for i in 0..<count {
                let grad = Double(grads[i])
                refParams[i] *= 1 - Double(lr) * Double(decay)
                refM[i] = Double(beta1) * refM[i] + (1 - Double(beta1)) * grad
                refV[i] = Double(beta2) * refV[i] + (1 - Double(beta2)) * grad * grad
                let denom = refV[i].squareRoot() / bc2.squareRoot() + Double(eps)
                refParams[i] -= Double(lr) / bc1 * refM[i] / denom
            }
            // |p| ≤ 2, where an fp32 ulp is 2.4e-7: the bound is a few ulps of accumulated
            // rounding, while a wrong bias correction or decay is off by ~lr (6e-4) per step.
            #expect(maxAbsDifference(params, refParams) < 1e-6, "params after step \(t)")
            // Moments are compared against their largest element: single elements cancel
            // (β·m + (1−β)·g with opposite signs), so elementwise relative error is meaningless.
            #expect(relativeError(m, refM) < 1e-6, "m after step \(t)")
            #expect(relativeError(v, refV) < 1e-6, "v after step \(t)")
        }
    }

    /// The trainer shards the flat parameter buffer into ranges per thread and per decay group;
    /// an update must not touch anything outside its range.
    @Test("only the given range is updated")
    func respectsRange() {
        var g = SeededGenerator(seed: 110)
        let params0 = g.floats(64), grads = g.floats(64)
        var params = params0, m = zeros(64), v = zeros(64)
        AdamWKernel.update(params: &params, grads: grads, m: &m, v: &v, range: 3..<40,
                           step: .init(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 1), decay: 0.1)
        for i in 0..<64 {
            let inside = (3..<40).contains(i)
            #expect((params[i] != params0[i]) == inside, "params[\(i)]")
            #expect((m[i] != 0) == inside && (v[i] != 0) == inside, "moments[\(i)]")
        }
    }
}

/// `Reduction.sumOfSquares` (gradient-norm clipping) and `Reduction.scale` against Double.
///
/// The sum is split per thread, then in 4096-element chunks, with Float lanes inside a chunk;
/// lengths cover empty input, SIMD tails, and a chunk boundary, on one and three threads.
@Suite("Reduction")
struct ReductionTests {
    @Test("sumOfSquares matches Double", arguments: [0, 1, 15, 16, 17, 4096 + 5, 10_000], [1, 3])
    func sumOfSquares(count: Int, threads: Int) {
        var g = SeededGenerator(seed: 120)
        let x = g.floats(count, in: -3...3)
        let ref = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        let got = Reduction.sumOfSquares(x, count: count, pool: TestPools.pool(threads: threads))
        #expect(abs(got - ref) <= 1e-6 * max(1, ref), "\(got) vs \(ref)")
    }

    @Test("scale multiplies every element", arguments: [1, 15, 16, 17, 1000], [1, 3])
    func scale(count: Int, threads: Int) {
        var g = SeededGenerator(seed: 121)
        let x0 = g.floats(count)
        var x = x0
        Reduction.scale(&x, count: count, by: 0.37, pool: TestPools.pool(threads: threads))
        expectIdentical(x, x0.map { $0 * 0.37 }, "scaled")
    }
}
