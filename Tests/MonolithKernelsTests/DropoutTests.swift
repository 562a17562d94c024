import MonolithKernels
import MonolithTestSupport
import Testing

/// Stateless inverted dropout: determinism, keep rate, scaling, and its use as its own backward.
///
/// No mask is stored; backward recomputes it from `(seed, index)`. That is only correct if the mask
/// is a pure function of those two (not of the thread split or of call order) and if applying it a
/// second time multiplies by the same factor again, which is exactly what the chain rule needs.
@Suite("Dropout")
struct DropoutTests {
    static let rates: [Float] = [0.1, 0.5, 0.9]

    @Test("the same seed gives the same mask, a different seed a different one", arguments: rates)
    func deterministicPerSeed(p: Float) {
        let a = Dropout(p: p, seed: 42), b = Dropout(p: p, seed: 42), c = Dropout(p: p, seed: 43)
        let n = 4096
        let maskA = (0..<n).map { a.scale(at: $0) }
        expectIdentical(maskA, (0..<n).map { b.scale(at: $0) }, "mask of an equal seed")
        let differing = (0..<n).filter { maskA[$0] != c.scale(at: $0) }.count
        // Two independent masks disagree on a fraction 2p(1−p) of the elements.
        #expect(abs(Double(differing) / Double(n) - 2 * Double(p * (1 - p))) < 0.05)
    }

    /// With 200 000 draws the kept fraction has a standard deviation below 0.0012, so a 0.006 band
    /// is five sigma: a biased generator or an inverted comparison fails, an honest one never does.
    @Test("the kept fraction is 1 − p and kept values are 1/(1 − p)", arguments: rates)
    func keepRate(p: Float) {
        let dropout = Dropout(p: p, seed: 7)
        let n = 200_000
        var kept = 0, wrongScale = 0
        for i in 0..<n {
            let s = dropout.scale(at: i)
            if s != 0 { kept += 1 }
            if s != 0 && s != 1 / (1 - p) { wrongScale += 1 }
        }
        #expect(wrongScale == 0)
        #expect(abs(Double(kept) / Double(n) - Double(1 - p)) < 0.006, "kept \(kept) of \(n)")
    }

    @Test("applying twice multiplies by the square of the mask scale", arguments: rates)
    func applyTwiceSquaresTheScale(p: Float) {
        let dropout = Dropout(p: p, seed: 99)
        let n = 1000, offset = 123
        var g = SeededGenerator(seed: 130)
        let x0 = g.floats(n)
        var x = x0
        dropout.apply(&x, count: n, offset: offset, pool: TestPools.three)
        dropout.apply(&x, count: n, offset: offset, pool: TestPools.three)
        expectIdentical(x, (0..<n).map { x0[$0] * dropout.scale(at: offset + $0) * dropout.scale(at: offset + $0) }, "applied twice")
    }

    /// Forward of one site and its backward run on different thread counts in practice (and the
    /// attention kernel indexes the mask itself), so the mask must depend on the index only.
    @Test("apply uses scale(at: offset + i) whatever the thread count", arguments: [1, 3])
    func applyMatchesScale(threads: Int) {
        let dropout = Dropout(p: 0.3, seed: 5)
        let n = 1001, offset = 17
        var x = [Float](repeating: 1, count: n)
        dropout.apply(&x, count: n, offset: offset, pool: TestPools.pool(threads: threads))
        expectIdentical(x, (0..<n).map { dropout.scale(at: offset + $0) }, "applied to ones")
    }

    @Test("backward is the same call: matches finite differences")
    func backwardMatchesFiniteDifferences() {
        let dropout = Dropout(p: 0.4, seed: 11)
        let n = 77
        var g = SeededGenerator(seed: 131)
        let x = g.floats(n), w = g.floats(n)
        var grad = w
        dropout.apply(&grad, count: n)
        let indices = Array(0..<n)
        let numeric = GradientCheck.numericGradient(of: x, at: indices) { probe in
            var out = probe
            dropout.apply(&out, count: n)
            return GradientCheck.weightedSum(out, w)
        }
        GradientCheck.expectMatch(analytic: grad, numeric: numeric, at: indices, "dinput")
    }

    @Test("p = 0 is inactive and leaves data untouched")
    func inactive() {
        let dropout = Dropout(p: 0, seed: 1)
        #expect(!dropout.isActive)
        #expect((0..<1000).allSatisfy { dropout.scale(at: $0) == 1 })
        var g = SeededGenerator(seed: 132)
        let x0 = g.floats(100)
        var x = x0
        dropout.apply(&x, count: 100)
        expectIdentical(x, x0, "after inactive dropout")
    }

    /// Every (step, layer, site) must draw an independent mask; a collision would make two sites
    /// drop the same elements step after step.
    @Test("derived seeds differ across steps, layers and sites")
    func derivedSeedsAreDistinct() {
        var seeds = Set<UInt64>()
        for step in 0..<20 {
            for layer in 0..<12 {
                for site in 0..<4 { seeds.insert(Dropout.seed(base: 1234, step: step, layer: layer, site: site)) }
            }
        }
        #expect(seeds.count == 20 * 12 * 4)
        #expect(Dropout.seed(base: 1, step: 0, layer: 0, site: 0) != Dropout.seed(base: 2, step: 0, layer: 0, site: 0))
    }
}
