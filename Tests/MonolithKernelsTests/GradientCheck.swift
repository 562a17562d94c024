import MonolithKernels
import MonolithTestSupport
import Testing

/// Finite-difference gradient checking shared by every kernel suite.
///
/// Each backward kernel is checked the same way: pick fixed random weights `w`, define the scalar
/// loss `L = Σ w·out`, run backward with `doutput = w`, and compare with central differences of
/// `L`. The forward passes run in Float (that is what ships), but `L` is summed in Double and the
/// step is large (1e-2), so the comparison is limited by the kernel, not by cancellation in the
/// difference quotient.
enum GradientCheck {
    /// Default bound: `max |analytic − numeric| ≤ tolerance · max(1, max |gradient|)`. fp32 forward
    /// passes with a 1e-2 step give errors around 1e-4; a missing term is of the order of the
    /// gradient itself.
    static let tolerance = 2e-3

    /// Central differences of `loss` with respect to `x[i]` for every `i` in `indices`.
    ///
    /// The divisor is the step as actually represented in Float, not the nominal `2·step`, because
    /// `x ± step` rounds and the rounding error would otherwise look like a gradient error.
    static func numericGradient(of x: [Float], at indices: [Int], step: Float = 1e-2,
                                loss: ([Float]) -> Double) -> [Double] {
        var probe = x
        return indices.map { i in
            let original = probe[i]
            let up = original + step, down = original - step
            probe[i] = up
            let lossUp = loss(probe)
            probe[i] = down
            let lossDown = loss(probe)
            probe[i] = original
            return (lossUp - lossDown) / (Double(up) - Double(down))
        }
    }

    /// `Σ w·out` in Double.
    static func weightedSum(_ out: [Float], _ weights: [Float]) -> Double {
        precondition(out.count == weights.count)
        var sum = 0.0
        for i in out.indices { sum += Double(out[i]) * Double(weights[i]) }
        return sum
    }

    /// Up to `count` distinct indices in `0..<range`, always including `required` (all of them
    /// when `count ≥ range`). Large tensors are sampled so the suite stays fast; `required` pins the
    /// positions a blocking or tail bug would hit.
    static func sampleIndices(_ count: Int, below range: Int, required: [Int] = [],
                              using generator: inout SeededGenerator) -> [Int] {
        if count >= range { return Array(0..<range) }
        var chosen = Set(required.filter { $0 >= 0 && $0 < range })
        while chosen.count < count { chosen.insert(Int.random(in: 0..<range, using: &generator)) }
        return chosen.sorted()
    }

    /// Records a failure unless the analytic gradient matches the numeric one at `indices`.
    static func expectMatch(analytic: [Float], numeric: [Double], at indices: [Int],
                            tolerance: Double = GradientCheck.tolerance, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        precondition(numeric.count == indices.count)
        var worst = 0.0, worstAt = -1, scale = 1.0
        for (k, i) in indices.enumerated() {
            scale = max(scale, abs(Double(analytic[i])), abs(numeric[k]))
            let err = abs(Double(analytic[i]) - numeric[k])
            if err > worst || err.isNaN { worst = err; worstAt = k }
        }
        let bound = tolerance * scale
        if worst.isNaN || worst > bound {
            let i = indices[worstAt]
            Issue.record("""
                \(what): max |analytic − numeric| = \(worst) at index \(i) \
                (analytic \(analytic[i]), numeric \(numeric[worstAt])), bound \(bound)
                """, sourceLocation: sourceLocation)
        }
    }
}

/// Pools the kernels run on in tests.
///
/// Three threads on a two-core machine is deliberate: it makes every multi-threaded kernel split
/// its work into uneven chunks (and per-thread scratch slices) whatever the host, while the serial
/// pool exercises the single-chunk fast paths. One shared instance, because a pool's threads live
/// for the rest of the process.
enum TestPools {
    static let three = WorkerPool(threads: 3)

    /// `WorkerPool.serial` for 1, the shared three-thread pool otherwise.
    static func pool(threads: Int) -> WorkerPool { threads == 1 ? .serial : three }
}

/// `count` zeros, the usual output buffer.
func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }

/// Expects two arrays to be element-for-element equal, reporting how many elements differ and the
/// first one instead of printing both arrays (thousands of numbers) as `#expect(a == b)` would.
func expectIdentical(_ actual: [Float], _ expected: [Float], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let mismatches = actual.indices.filter { actual[$0] != expected[$0] }
    if let i = mismatches.first {
        Issue.record("""
            \(what): \(mismatches.count) of \(actual.count) elements differ; first at \(i): \
            \(actual[i]), expected \(expected[i])
            """, sourceLocation: sourceLocation)
    }
}
