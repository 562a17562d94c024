import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// Fused softmax cross-entropy: forward and backward against a float64 numpy reference, backward
/// also against finite differences.
///
/// Targets of −1 mark padding positions and must contribute neither loss nor gradient nor count
/// (the trainer divides by the count). A row stride wider than the vocabulary is how a padded
/// vocabulary (50257 → 50304) is laid out; the padding columns must stay out of the softmax and
/// get a zero gradient. Vocabulary sizes straddle the SIMD width.
@Suite("CrossEntropy")
struct CrossEntropyTests {
    static let vocabs = [1, 13, 16, 40, 64, 77]
    static let paddings = [0, 3]

    /// Forward and backward against numpy in float64 (scripts/make_cross_entropy_fixtures.py):
    /// every vocabulary size and padding above, and logits up to 3900, where the max subtraction
    /// must keep loss and gradient finite.
    @Test("forward and backward match the float64 reference", arguments: CrossEntropyFixture.loaded.cases)
    func matchesReference(c: CrossEntropyFixture.Case) {
        let logits = c.logits.map { Float($0) }
        var losses = zeros(c.rows), lse = zeros(c.rows)
        let result = CrossEntropy.forward(losses: &losses, logSumExp: &lse, logits: logits, targets: c.targets,
                                          rows: c.rows, vocab: c.vocab, stride: c.stride, pool: TestPools.three)
        // Float32 arithmetic on values of magnitude |x|: a few ulps.
        func tolerance(_ x: Double) -> Double { 2e-6 * max(1, abs(x)) }
        for r in 0..<c.rows {
            #expect(abs(Double(lse[r]) - c.lse[r]) <= tolerance(c.lse[r]), "lse of row \(r)")
            #expect(abs(Double(losses[r]) - c.losses[r]) <= tolerance(c.losses[r]), "loss of row \(r)")
            if c.targets[r] < 0 { #expect(losses[r] == 0, "ignored row \(r)") }
        }
        #expect(result.count == c.count)
        #expect(abs(result.sum - c.sum) <= 1e-5 * max(1, abs(c.sum)))
        var grad = logits
        CrossEntropy.backward(logits: &grad, logSumExp: lse, targets: c.targets, rows: c.rows, vocab: c.vocab,
                              stride: c.stride, scale: c.scale, pool: TestPools.three)
        #expect(grad.allSatisfy { $0.isFinite })
        #expect(maxAbsDifference(grad, c.grad) <= 1e-6)
        for r in 0..<c.rows {
            let row = grad[r * c.stride ..< (r + 1) * c.stride]
            if c.targets[r] < 0 { #expect(row.allSatisfy { $0 == 0 }, "ignored row \(r)") }
            #expect(row.suffix(c.stride - c.vocab).allSatisfy { $0 == 0 }, "padding of row \(r)")
        }
    }

    /// `backward` takes one scale for all rows (the trainer passes 1/count), so the loss here is
    /// `scale · Σ losses` with a scale away from 1 so that a dropped factor shows.
    @Test("backward matches finite differences, ignored rows and padding get zero", arguments: vocabs, paddings)
    func backwardMatchesFiniteDifferences(vocab: Int, padding: Int) {
        let problem = CrossEntropyProblem(vocab: vocab, padding: padding, seed: 61)
        let scale: Float = 1.7
        let (_, lse, _) = problem.forward(problem.logits)
        var grad = problem.logits
        CrossEntropy.backward(logits: &grad, logSumExp: lse, targets: problem.targets, rows: problem.rows,
                              vocab: vocab, stride: problem.stride, scale: scale, pool: TestPools.three)
        let indices = Array(problem.logits.indices)
        let numeric = GradientCheck.numericGradient(of: problem.logits, at: indices) { logits in
            Double(scale) * problem.forward(logits).result.sum
        }
        GradientCheck.expectMatch(analytic: grad, numeric: numeric, at: indices, "dlogits")
        for r in 0..<problem.rows {
            let row = grad[r * problem.stride ..< (r + 1) * problem.stride]
            if problem.targets[r] < 0 { #expect(row.allSatisfy { $0 == 0 }, "ignored row \(r)") }
            #expect(row.suffix(padding).allSatisfy { $0 == 0 }, "padding of row \(r)")
        }
    }
}

/// `Tests/Fixtures/kernels/cross_entropy.json`.
struct CrossEntropyFixture: Decodable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let rows: Int, vocab: Int, stride: Int
        let scale: Float
        /// Float32 values, `rows × stride`, written exactly.
        let logits: [Double]
        let targets: [Int32]
        let lse: [Double], losses: [Double], sum: Double, count: Int
        /// `scale · (softmax − onehot)`, `rows × stride`.
        let grad: [Double]
        var testDescription: String { name }
    }

    let cases: [Case]

    static let loaded = try! TestFixtures.json(CrossEntropyFixture.self, "kernels/cross_entropy.json")
}

/// Random logits for 7 rows, two of them ignored (target −1), padding columns filled with large
/// values so that any leak into the softmax is visible.
private struct CrossEntropyProblem {
    let rows = 7, vocab: Int, stride: Int
    let logits: [Float]
    let targets: [Int32]

    init(vocab: Int, padding: Int, seed: UInt64) {
        self.vocab = vocab
        stride = vocab + padding
        var g = SeededGenerator(seed: seed)
        var logits = g.floats(rows * stride, in: -3...3)
        for r in 0..<rows { for j in vocab..<stride { logits[r * stride + j] = 50 } }
        self.logits = logits
        targets = (0..<rows).map { r in r == 2 || r == 5 ? -1 : Int32.random(in: 0..<Int32(vocab), using: &g) }
    }

    func forward(_ logits: [Float]) -> (losses: [Float], lse: [Float], result: (sum: Double, count: Int)) {
        var losses = zeros(rows), lse = zeros(rows)
        let result = CrossEntropy.forward(losses: &losses, logSumExp: &lse, logits: logits, targets: targets,
                                          rows: rows, vocab: vocab, stride: stride, pool: TestPools.three)
        return (losses, lse, result)
    }
}
