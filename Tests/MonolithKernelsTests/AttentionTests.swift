import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// A batch/sequence/head shape for causal attention.
struct AttentionShape: Sendable, CustomTestStringConvertible {
    let batch: Int, seqLen: Int, heads: Int, headDim: Int
    var channels: Int { heads * headDim }
    var testDescription: String { "B\(batch) T\(seqLen) H\(heads) d\(headDim)" }
}

/// Causal self-attention: forward against a naive Double implementation, backward against finite
/// differences, with and without attention dropout.
///
/// The kernel computes scores and products in row blocks of 64 and skips the masked triangle, and
/// every backward GEMM slices those blocks differently, so sequence lengths cross 64 (65, 70) as
/// well as stay below it. Head counts 1–3 and odd head dimensions catch a wrong head offset or
/// leading dimension in the interleaved `[B, T, 3·C]` layout. With dropout the mask is a function
/// of the flat `probs` index, so forward and backward must agree on that index for every (batch,
/// head) pair; the same seed is used for both, as the model does.
@Suite("Attention")
struct AttentionTests {
    static let shapes = [
        AttentionShape(batch: 1, seqLen: 5, heads: 1, headDim: 4),
        AttentionShape(batch: 2, seqLen: 13, heads: 2, headDim: 8),
        AttentionShape(batch: 1, seqLen: 33, heads: 3, headDim: 5),
        AttentionShape(batch: 1, seqLen: 64, heads: 2, headDim: 16),
        AttentionShape(batch: 2, seqLen: 65, heads: 3, headDim: 6),
        AttentionShape(batch: 1, seqLen: 70, heads: 1, headDim: 16),
        AttentionShape(batch: 1, seqLen: 70, heads: 3, headDim: 13),
    ]
    static let dropoutRates: [Float] = [0, 0.25]

    @Test("forward and saved probabilities match a naive Double implementation", arguments: shapes, dropoutRates)
    func forwardMatchesReference(shape: AttentionShape, p: Float) {
        let problem = AttentionProblem(shape, p: p, seed: 50)
        let (out, probs) = problem.forward(problem.qkv, pool: TestPools.three)
        let ref = problem.reference()
        // Measured: 1.9e-7 and 5.7e-7 at worst over these shapes.
        #expect(maxAbsDifference(probs, ref.probs) < 1e-6)
        #expect(maxAbsDifference(out, ref.out) < 5e-6)
    }

    @Test("backward matches finite differences", arguments: shapes, dropoutRates)
    func backwardMatchesFiniteDifferences(shape: AttentionShape, p: Float) {
        let problem = AttentionProblem(shape, p: p, seed: 51)
        let pool = TestPools.three
        var g = SeededGenerator(seed: 52)
        let w = g.floats(shape.batch * shape.seqLen * shape.channels)
        let dqkv = problem.backward(doutput: w, pool: pool)

        // Sampled, but always including Q, K and V entries of the first row, the last row, and
        // the first row of the second 64-row block, where blocking bugs would land.
        let t = shape.seqLen, c = shape.channels, ld = 3 * c
        var required = [Int]()
        for row in [0, t - 1, min(64, t - 1)] {
            for part in 0..<3 { required.append(row * ld + part * c + (row % c)) }
        }
        let indices = GradientCheck.sampleIndices(60, below: problem.qkv.count, required: required, using: &g)
        let numeric = GradientCheck.numericGradient(of: problem.qkv, at: indices) { qkv in
            GradientCheck.weightedSum(problem.forward(qkv, pool: pool).out, w)
        }
        GradientCheck.expectMatch(analytic: dqkv, numeric: numeric, at: indices, "dqkv")
    }

    /// One thread or many, the mask index is `pair·T² + i·T + j` and the result must not depend on
    /// which thread ran which (batch, head) pair.
    @Test("forward and backward do not depend on the thread count")
    func threadCountIndependent() {
        let shape = AttentionShape(batch: 2, seqLen: 65, heads: 3, headDim: 6)
        let problem = AttentionProblem(shape, p: 0.25, seed: 53)
        var g = SeededGenerator(seed: 54)
        let w = g.floats(shape.batch * shape.seqLen * shape.channels)
        expectIdentical(problem.forward(problem.qkv, pool: .serial).out, problem.forward(problem.qkv, pool: TestPools.three).out, "output")
        expectIdentical(problem.backward(doutput: w, pool: .serial), problem.backward(doutput: w, pool: TestPools.three), "dqkv")
    }
}

/// One attention instance: random `qkv` and a dropout site.
private struct AttentionProblem {
    let shape: AttentionShape
    let dropout: Dropout
    let qkv: [Float]

    init(_ shape: AttentionShape, p: Float, seed: UInt64) {
        self.shape = shape
        dropout = Dropout(p: p, seed: 0xA77E_0000 + seed)
        var g = SeededGenerator(seed: seed)
        // Wide enough that the softmax is far from uniform, so its Jacobian matters.
        qkv = g.floats(shape.batch * shape.seqLen * 3 * shape.channels, in: -2...2)
    }

    func forward(_ qkv: [Float], pool: WorkerPool) -> (out: [Float], probs: [Float]) {
        let s = shape
        var out = zeros(s.batch * s.seqLen * s.channels)
        var probs = zeros(s.batch * s.heads * s.seqLen * s.seqLen)
        var scratch = zeros(Attention.scratchCount(seqLen: s.seqLen, pool: pool))
        Attention.forward(output: &out, probs: &probs, qkv: qkv, batch: s.batch, seqLen: s.seqLen,
                          heads: s.heads, headDim: s.headDim, dropout: dropout, scratch: &scratch, pool: pool)
        return (out, probs)
    }

    /// `dqkv` from backward, starting from a buffer full of garbage because backward documents
    /// that it overwrites rather than accumulates.
    func backward(doutput: [Float], pool: WorkerPool) -> [Float] {
        let s = shape
        let probs = forward(qkv, pool: pool).probs
        var dqkv = [Float](repeating: 7, count: qkv.count)
        var scratch = zeros(Attention.scratchCount(seqLen: s.seqLen, pool: pool))
        Attention.backward(dqkv: &dqkv, doutput: doutput, qkv: qkv, probs: probs, batch: s.batch,
                           seqLen: s.seqLen, heads: s.heads, headDim: s.headDim, dropout: dropout,
                           scratch: &scratch, pool: pool)
        return dqkv
    }

    /// `softmax(QKᵀ/√d + causal mask)` and `(P ⊙ mask/(1−p)) · V`, straight from the definition.
    func reference() -> (out: [Double], probs: [Double]) {
        let s = shape, t = s.seqLen, d = s.headDim, c = s.channels, ld = 3 * c
        let scale = 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: s.batch * t * c)
        var probs = [Double](repeating: 0, count: s.batch * s.heads * t * t)
        for b in 0..<s.batch {
            for h in 0..<s.heads {
                let pair = b * s.heads + h
                func q(_ i: Int, _ k: Int) -> Double { Double(qkv[(b * t + i) * ld + h * d + k]) }
                func key(_ i: Int, _ k: Int) -> Double { Double(qkv[(b * t + i) * ld + c + h * d + k]) }
                func v(_ i: Int, _ k: Int) -> Double { Double(qkv[(b * t + i) * ld + 2 * c + h * d + k]) }
                for i in 0..<t {
                    var scores = (0...i).map { j in (0..<d).map { q(i, $0) * key(j, $0) }.reduce(0, +) * scale }
                    let m = scores.max()!
                    scores = scores.map { exp($0 - m) }
                    let sum = scores.reduce(0, +)
                    for j in 0...i {
                        let pr = scores[j] / sum
                        probs[pair * t * t + i * t + j] = pr
                        let kept = pr * Double(dropout.isActive ? dropout.scale(at: pair * t * t + i * t + j) : 1)
                        for k in 0..<d { out[(b * t + i) * c + h * d + k] += kept * v(j, k) }
                    }
                }
            }
        }
        return (out, probs)
    }
}
