import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing

/// Fused softmax cross-entropy: forward against Double, backward against finite differences.
///
/// Targets of −1 mark padding positions and must contribute neither loss nor gradient nor count
/// (the trainer divides by the count). A row stride wider than the vocabulary is how a padded
/// vocabulary (50257 → 50304) is laid out; the padding columns must stay out of the softmax and
/// get a zero gradient. Vocabulary sizes straddle the SIMD width.
@Suite("CrossEntropy")
struct CrossEntropyTests {
    static let vocabs = [1, 13, 16, 40, 64, 77]
    static let paddings = [0, 3]

    @Test("forward losses, log-sum-exp, sum and count match Double", arguments: vocabs, paddings)
    func forwardMatchesReference(vocab: Int, padding: Int) {
        let problem = CrossEntropyProblem(vocab: vocab, padding: padding, seed: 60)
        let (losses, lse, result) = problem.forward(problem.logits)
        var refSum = 0.0, refCount = 0
        for r in 0..<problem.rows {
            let row = (0..<vocab).map { Double(problem.logits[r * problem.stride + $0]) }
            let m = row.max()!
            let refLse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            #expect(abs(Double(lse[r]) - refLse) < 2e-6)
            let target = Int(problem.targets[r])
            if target < 0 {
                #expect(losses[r] == 0)
            } else {
                let refLoss = refLse - row[target]
                #expect(abs(Double(losses[r]) - refLoss) < 2e-6)
                refSum += refLoss; refCount += 1
            }
        }
        #expect(result.count == refCount)
        #expect(abs(result.sum - refSum) < 1e-5)
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

    /// Early in training logits are small, but a diverging run produces huge ones; the max
    /// subtraction must keep the loss finite instead of returning inf or NaN.
    @Test("huge logits give a finite loss and gradient")
    func hugeLogits() {
        let vocab = 40
        var logits = (0..<vocab).map { Float($0) * 100 }  // up to 3900
        let targets: [Int32] = [7]
        var losses = zeros(1), lse = zeros(1)
        let result = CrossEntropy.forward(losses: &losses, logSumExp: &lse, logits: logits, targets: targets,
                                          rows: 1, vocab: vocab, stride: vocab)
        #expect(abs(result.sum - (3900 - 700)) < 1e-3)
        CrossEntropy.backward(logits: &logits, logSumExp: lse, targets: targets, rows: 1, vocab: vocab,
                              stride: vocab, scale: 1)
        #expect(logits.allSatisfy { $0.isFinite })
        #expect(abs(logits[vocab - 1] - 1) < 1e-6 && logits[7] == -1)
    }
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
