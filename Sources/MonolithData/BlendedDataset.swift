/// A list of dataset prefixes with optional weights, as Megatron's `--data-path`:
/// `0.3 A 0.7 B` (weight, prefix pairs) or `A B` (no weights: each contributes one epoch).
public struct BlendSpecification: Sendable, Codable, Equatable {
    /// Dataset prefixes.
    public var prefixes: [String]
    /// Weights as given (not normalized), or `nil`.
    public var weights: [Double]?

    /// Parses the words of `--data-path` as megatron-core's `get_blend_from_list`: an even count
    /// whose every other word parses as a number is (weight, prefix) pairs; otherwise all words
    /// are prefixes.
    public init(_ words: [String]) throws {
        guard !words.isEmpty else { throw DataError.invalidArgument("--data-path needs at least one dataset prefix") }
        if words.count % 2 == 0 {
            let parsed = stride(from: 0, to: words.count, by: 2).map { Double(words[$0]) }
            if parsed.allSatisfy({ $0 != nil }) {
                prefixes = stride(from: 1, to: words.count, by: 2).map { words[$0] }
                weights = parsed.map { $0! }
                guard weights!.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                    throw DataError.invalidArgument("blend weights must be positive numbers, got \(weights!)")
                }
                return
            }
        }
        prefixes = words
        weights = nil
    }

    /// Weights divided by their sum (megatron-core's `normalize`).
    public var normalizedWeights: [Double]? {
        weights.map { w in let s = w.reduce(0, +); return w.map { $0 / s } }
    }
}

/// Several sample sources interleaved by Megatron's exact-proportion blending index
/// (`BlendingIndex`): position `i` draws sample `sampleIndex[i]` of source `datasetIndex[i]`.
public final class BlendedDataset: SampleSource, @unchecked Sendable {
    /// The blended sources.
    public let sources: [any SampleSource]
    /// Which source each position draws from.
    public let datasetIndex: [Int16]
    /// Which sample of that source.
    public let datasetSampleIndex: [Int64]
    public let sampleLength: Int
    public let fingerprint: String

    /// Blends `sources` by normalized `weights` into `size` samples (megatron-core's
    /// `BlendedDataset` with a size), or, with `weights == nil`, exhausts every source once
    /// (`size == nil`). Throws if a source would be asked for more samples than it has.
    public init(sources: [any SampleSource], weights: [Double]?, size: Int?) throws {
        guard !sources.isEmpty else { throw DataError.invalidArgument("a blend needs at least one dataset") }
        let length = sources[0].sampleLength
        guard sources.allSatisfy({ $0.sampleLength == length }) else {
            throw DataError.invalidArgument("blended datasets must share one sample length")
        }
        self.sources = sources
        sampleLength = length
        if let weights, let size {
            guard weights.count == sources.count else {
                throw DataError.invalidArgument("\(weights.count) weights for \(sources.count) datasets")
            }
            let total = weights.reduce(0, +)
            (datasetIndex, datasetSampleIndex) = BlendingIndex.build(weights: weights.map { $0 / total }, size: size)
        } else if weights == nil {
            let counts = sources.map(\.sampleCount)
            if let size {
                // Megatron: weights are the source lengths, size capped at their sum.
                let total = counts.reduce(0, +)
                (datasetIndex, datasetSampleIndex) = BlendingIndex.build(weights: counts.map { Double($0) / Double(total) },
                                                                         size: min(size, total))
            } else {
                (datasetIndex, datasetSampleIndex) = BlendingIndex.buildExhaustive(sizes: counts)
            }
        } else {
            throw DataError.invalidArgument("a weighted blend needs a sample count")
        }
        var drawn = [Int](repeating: 0, count: sources.count)
        for d in datasetIndex { drawn[Int(d)] += 1 }
        for (d, n) in drawn.enumerated() where n > sources[d].sampleCount {
            throw DataError.invalidArgument("the blend draws \(n) samples from dataset \(d), which has only \(sources[d].sampleCount); raise blendSurplus")
        }
        fingerprint = "{\"class\": \"BlendedDataset\", \"weights\": \(weights.map { "\($0)" } ?? "null"), \"size\": \(size.map(String.init) ?? "null"), \"datasets\": ["
            + sources.map(\.fingerprint).joined(separator: ", ") + "]}"
    }

    public var sampleCount: Int { datasetIndex.count }

    public func copySample(_ index: Int, into out: UnsafeMutablePointer<Int32>) {
        sources[Int(datasetIndex[index])].copySample(Int(datasetSampleIndex[index]), into: out)
    }
}

/// Builds the train/valid/test sample sources of a blend, as megatron-core's
/// `BlendedMegatronDatasetBuilder` does when all splits come from one blend (`--data-path` with
/// `--split`).
public enum GPTDatasetBuilder {
    /// One source per split (`nil` where the split string gives it no documents).
    ///
    /// - Parameters:
    ///   - sizes: samples wanted for train, valid and test (`nil`: one epoch; required for weighted blends).
    /// - With weights, dataset `d` builds `ceil(ceil(size · w_d) · (1 + surplus))` samples and the
    ///   blend is `Σ_d ceil(size · w_d)` long, exactly as megatron-core sizes them.
    public static func build(blend: BlendSpecification, config: GPTDatasetConfig, sizes: [Int?],
                             useCache: Bool = true) throws -> [(any SampleSource)?] {
        try config.validate()
        guard sizes.count == 3 else { throw DataError.invalidArgument("sizes must list train, valid and test") }
        let spec = try SplitSpecification(config.split)
        let datasets = try blend.prefixes.map { try IndexedDataset(prefix: $0) }
        var config = config
        if config.cacheDirectory == nil { config.cacheDirectory = IndexCache.defaultDirectory(forPrefix: blend.prefixes[0]) }
        let weights = blend.normalizedWeights
        if datasets.count == 1 && weights == nil {
            return try DatasetSplit.allCases.map { split in
                try spec.range(of: split, count: datasets[0].sequenceCount).map {
                    try GPTDataset(dataset: datasets[0], split: split, documents: $0, samples: sizes[split.rawValue],
                                   config: config, useCache: useCache)
                }
            }
        }
        return try DatasetSplit.allCases.map { split -> (any SampleSource)? in
            guard spec.matrix[split.rawValue] != nil else { return nil }
            let size = sizes[split.rawValue]
            if let weights {
                guard let size else {
                    throw DataError.invalidArgument("a weighted blend needs a sample count for the \(split) split")
                }
                let target = weights.map { Int((Double(size) * $0).rounded(.up)) }
                let buffered = target.map { Int((Double($0) * (1 + config.blendSurplus)).rounded(.up)) }
                let parts = try datasets.indices.map { d in
                    try GPTDataset(dataset: datasets[d], split: split,
                                   documents: spec.range(of: split, count: datasets[d].sequenceCount)!,
                                   samples: buffered[d], config: config, useCache: useCache)
                }
                return try BlendedDataset(sources: parts, weights: weights, size: target.reduce(0, +))
            }
            let parts = try datasets.map { ds in
                try GPTDataset(dataset: ds, split: split, documents: spec.range(of: split, count: ds.sequenceCount)!,
                               samples: nil, config: config, useCache: useCache)
            }
            return try BlendedDataset(sources: parts, weights: nil, size: size)
        }
    }
}
