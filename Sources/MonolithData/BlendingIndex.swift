/// Megatron's blending indices (`helpers.cpp`): which dataset, and which of its samples, each
/// position of a blend draws.
public enum BlendingIndex {
    /// `build_blending_indices`: for each position `i`, pick the dataset whose deficit
    /// `weight · max(i, 1) − drawn so far` is largest (the first one on ties), then draw its next
    /// sample. This greedy rule keeps every prefix of the blend within a sample or two of the exact
    /// proportions, instead of sampling datasets at random, so short runs see the intended mix too.
    ///
    /// - Parameters:
    ///   - weights: normalized weights (they should sum to 1).
    ///   - size: positions to fill.
    /// - Returns: the dataset of each position, and the sample of that dataset it draws.
    public static func build(weights: [Double], size: Int) -> (dataset: [Int16], sample: [Int64]) {
        precondition(!weights.isEmpty && weights.count < 32767, "blending needs 1..<32767 datasets")
        var dataset = [Int16](repeating: 0, count: size)
        var sample = [Int64](repeating: 0, count: size)
        var drawn = [Int64](repeating: 0, count: weights.count)
        for i in 0..<size {
            let position = max(Double(i), 1.0)
            var best = 0
            var bestError = weights[0] * position - Double(drawn[0])
            for d in 1..<weights.count {
                let error = weights[d] * position - Double(drawn[d])
                if error > bestError { bestError = error; best = d }
            }
            dataset[i] = Int16(best)
            sample[i] = drawn[best]
            drawn[best] += 1
        }
        return (dataset, sample)
    }

    /// `build_exhaustive_blending_indices`: draws exactly `sizes[d]` samples from each dataset,
    /// interleaved by the same largest-deficit rule over the datasets not yet exhausted (used when
    /// a blend has no weights: each dataset contributes one epoch).
    public static func buildExhaustive(sizes: [Int]) -> (dataset: [Int16], sample: [Int64]) {
        let total = sizes.reduce(0, +)
        let weights = sizes.map { Double($0) / Double(total) }
        var dataset = [Int16](), sample = [Int64]()
        dataset.reserveCapacity(total); sample.reserveCapacity(total)
        var drawn = [Int64](repeating: 0, count: sizes.count)
        var unspent = (0..<sizes.count).filter { sizes[$0] > 0 }
        var i = 0
        while !unspent.isEmpty {
            let position = max(Double(i), 1.0)
            var best = -1
            var bestError = -Double.greatestFiniteMagnitude
            for d in unspent {
                let error = weights[d] * position - Double(drawn[d])
                if error > bestError { bestError = error; best = d }
            }
            dataset.append(Int16(best))
            sample.append(drawn[best])
            drawn[best] += 1
            if Int64(sizes[best]) == drawn[best] { unspent.removeAll { $0 == best } }
            i += 1
        }
        return (dataset, sample)
    }
}
