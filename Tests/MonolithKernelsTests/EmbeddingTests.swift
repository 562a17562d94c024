import MonolithKernels
import MonolithTestSupport
import Testing

/// Token plus position embedding: forward against direct indexing, backward against finite
/// differences.
///
/// Backward is a scatter-add, so the cases that matter are a token id repeated within and across
/// sequences (its gradient rows must add up, not overwrite each other) and a non-zero position
/// offset, which KV-cached decoding uses. Channel counts straddle the SIMD width.
@Suite("Embedding")
struct EmbeddingTests {
    static let channels = [1, 13, 16, 40]

    @Test("forward is wte[id] + wpe[offset + t]", arguments: channels)
    func forwardMatchesIndexing(c: Int) {
        let problem = EmbeddingProblem(channels: c, seed: 70)
        let out = problem.forward(wte: problem.wte, wpe: problem.wpe)
        for r in 0..<problem.batch * problem.seqLen {
            let tok = Int(problem.ids[r]), pos = problem.positionOffset + r % problem.seqLen
            for j in 0..<c {
                #expect(out[r * c + j] == problem.wte[tok * c + j] + problem.wpe[pos * c + j])
            }
        }
    }

    @Test("backward matches finite differences with repeated ids", arguments: channels)
    func backwardMatchesFiniteDifferences(c: Int) {
        let problem = EmbeddingProblem(channels: c, seed: 71)
        var g = SeededGenerator(seed: 72)
        let w = g.floats(problem.batch * problem.seqLen * c)
        var dwte = zeros(problem.wte.count), dwpe = zeros(problem.wpe.count)
        Embedding.backward(dwte: &dwte, dwpe: &dwpe, doutput: w, ids: problem.ids, batch: problem.batch,
                           seqLen: problem.seqLen, channels: c, positionOffset: problem.positionOffset)
        let wteIndices = Array(problem.wte.indices), wpeIndices = Array(problem.wpe.indices)
        GradientCheck.expectMatch(
            analytic: dwte,
            numeric: GradientCheck.numericGradient(of: problem.wte, at: wteIndices) {
                GradientCheck.weightedSum(problem.forward(wte: $0, wpe: problem.wpe), w)
            }, at: wteIndices, "dwte")
        GradientCheck.expectMatch(
            analytic: dwpe,
            numeric: GradientCheck.numericGradient(of: problem.wpe, at: wpeIndices) {
                GradientCheck.weightedSum(problem.forward(wte: problem.wte, wpe: $0), w)
            }, at: wpeIndices, "dwpe")
    }

    /// Gradients of the tied `wte` arrive from the LM head first, so backward must add onto them.
    @Test("backward accumulates onto existing gradients")
    func backwardAccumulates() {
        let problem = EmbeddingProblem(channels: 13, seed: 73)
        var g = SeededGenerator(seed: 74)
        let w = g.floats(problem.batch * problem.seqLen * 13)
        let start = g.floats(problem.wte.count)
        var fresh = zeros(problem.wte.count), accumulated = start
        var dwpe = zeros(problem.wpe.count)
        Embedding.backward(dwte: &fresh, dwpe: &dwpe, doutput: w, ids: problem.ids, batch: problem.batch,
                           seqLen: problem.seqLen, channels: 13, positionOffset: problem.positionOffset)
        Embedding.backward(dwte: &accumulated, dwpe: &dwpe, doutput: w, ids: problem.ids, batch: problem.batch,
                           seqLen: problem.seqLen, channels: 13, positionOffset: problem.positionOffset)
        #expect(maxAbsDifference(accumulated, zip(start, fresh).map { Double($0) + Double($1) }) < 1e-6)
    }
}

/// Two sequences of four tokens over a vocabulary of 6; token 3 appears three times and token 1
/// twice, and tokens 0 and 5 never (their gradient rows must stay zero).
private struct EmbeddingProblem {
    let batch = 2, seqLen = 4, vocab = 6, maxPositions = 7, positionOffset = 2
    let channels: Int
    let ids: [Int32] = [3, 1, 3, 2, 4, 3, 1, 2]
    let wte: [Float], wpe: [Float]

    init(channels: Int, seed: UInt64) {
        self.channels = channels
        var g = SeededGenerator(seed: seed)
        wte = g.floats(vocab * channels)
        wpe = g.floats(maxPositions * channels)
    }

    func forward(wte: [Float], wpe: [Float]) -> [Float] {
        var out = zeros(batch * seqLen * channels)
        Embedding.forward(output: &out, ids: ids, wte: wte, wpe: wpe, batch: batch, seqLen: seqLen,
                          channels: channels, positionOffset: positionOffset, pool: TestPools.three)
        return out
    }
}
