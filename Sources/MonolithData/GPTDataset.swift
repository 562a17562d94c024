import Foundation
import MonolithKernels

/// One split of one indexed dataset, sampled as megatron-core's `GPTDataset`: fixed-length
/// samples of `sequenceLength + 1` tokens cut from the shuffled concatenation of the split's
/// sequences, over as many epochs as the requested sample count needs, in shuffled order.
///
/// For the same `.bin/.idx`, split string, seed, sequence length and sample count, sample `i`
/// holds the same tokens as megatron-core's `GPTDataset[i]["text"]` — the indices are built by
/// the same algorithms with NumPy's generator (`GPTIndices`, `NumpyRandomState`), and the
/// fixtures in `Tests/Fixtures/megatron` pin them against megatron-core itself.
///
/// ```swift
/// let data = try IndexedDataset(prefix: "data/corpus")
/// let train = try GPTDataset(dataset: data, split: .train, samples: 10_000,
///                            config: GPTDatasetConfig(sequenceLength: 1024))
/// let tokens = train.sample(0)     // 1025 tokens
/// ```
///
/// The indices are cached beside the data (`IndexCache`), so later runs and other ranks load
/// them instead of rebuilding.
public final class GPTDataset: SampleSource, @unchecked Sendable {
    /// The underlying tokens.
    public let dataset: IndexedDataset
    /// Which split this is.
    public let split: DatasetSplit
    /// The split's sequence ids.
    public let documents: Range<Int>
    /// The sample count asked for (`nil`: one epoch).
    public let requestedSamples: Int?
    /// The configuration.
    public let config: GPTDatasetConfig
    /// The document, sample and shuffle indices.
    public let indices: GPTIndices
    /// The cache key text (also the resume fingerprint).
    public let fingerprint: String
    /// Whether the indices came from the cache.
    public let loadedFromCache: Bool

    /// Builds (or loads from the cache) the indices of `split` of `dataset`.
    ///
    /// - Parameters:
    ///   - samples: samples to provide; `nil` for exactly one epoch (Megatron's `num_samples=None`).
    ///   - cache: where to cache the indices; `nil` uses `config.cacheDirectory` or the default
    ///     beside the data. Pass `useCache: false` to build in memory only.
    public convenience init(dataset: IndexedDataset, split: DatasetSplit, samples: Int?,
                            config: GPTDatasetConfig, useCache: Bool = true) throws {
        let spec = try SplitSpecification(config.split)
        guard let range = spec.range(of: split, count: dataset.sequenceCount) else {
            throw DataError.invalidArgument("split '\(config.split)' gives the \(split) split no documents")
        }
        try self.init(dataset: dataset, split: split, documents: range, samples: samples, config: config, useCache: useCache)
    }

    /// Builds the dataset over an explicit range of sequence ids.
    public init(dataset: IndexedDataset, split: DatasetSplit, documents: Range<Int>, samples: Int?,
                config: GPTDatasetConfig, useCache: Bool = true) throws {
        try config.validate()
        if let s = samples, s < 0 { throw DataError.invalidArgument("sample count must not be negative, got \(s)") }
        self.dataset = dataset
        self.split = split
        self.documents = documents
        self.requestedSamples = samples
        self.config = config
        let description = Self.describe(dataset: dataset, split: split, documents: documents, samples: samples, config: config)
        fingerprint = description
        let cache = useCache ? IndexCache(directory: config.cacheDirectory ?? IndexCache.defaultDirectory(forPrefix: dataset.prefix)) : nil
        let names = ["document_index", "sample_index", "shuffle_index"]
        if let cache, let arrays = try cache.fetch(kind: "GPTDataset", split: split, description: description, names: names),
           let doc = arrays["document_index"], let sam = arrays["sample_index"], let shu = arrays["shuffle_index"] {
            let tokens = documents.reduce(0) { $0 + dataset.length($1) }
            let plan = GPTIndices.plan(tokensPerEpoch: tokens, requestedSamples: samples, sequenceLength: config.sequenceLength,
                                       extra: config.addExtraToken ? 1 : 0)
            indices = GPTIndices(documentIndex: doc.map { Int32($0) }, sampleIndex: sam, shuffleIndex: shu,
                                 epochs: plan.epochs, separateFinalEpoch: plan.separateFinalEpoch)
            loadedFromCache = true
        } else {
            indices = try GPTIndices.build(sizes: dataset.sequenceLengths(), documents: documents, requestedSamples: samples,
                                           sequenceLength: config.sequenceLength, seed: config.seed,
                                           addExtraToken: config.addExtraToken)
            loadedFromCache = false
            if let cache { try store(cache, description: description) }
        }
        try checkIndices()
    }

    public var sampleCount: Int { indices.sampleCount }
    public var sampleLength: Int { config.sampleLength }

    public func copySample(_ index: Int, into out: UnsafeMutablePointer<Int32>) {
        precondition(index >= 0 && index < sampleCount, "sample \(index) out of range 0..<\(sampleCount)")
        let i = Int(indices.shuffleIndex[index])
        let (begin, beginOffset) = (Int(indices.sampleIndex[2 * i]), Int(indices.sampleIndex[2 * i + 1]))
        let (end, endOffset) = (Int(indices.sampleIndex[2 * i + 2]), Int(indices.sampleIndex[2 * i + 3]))
        let extra = config.addExtraToken ? 1 : 0
        if begin == end {
            dataset.copyTokens(sequence: Int(indices.documentIndex[begin]), offset: beginOffset,
                               count: endOffset - beginOffset + extra, into: out)
            return
        }
        var written = 0
        for position in begin...end {
            let sequence = Int(indices.documentIndex[position])
            let offset = position == begin ? beginOffset : 0
            let count = position == end ? endOffset + extra : dataset.length(sequence) - offset
            dataset.copyTokens(sequence: sequence, offset: offset, count: count, into: out + written)
            written += count
        }
        precondition(written == sampleLength, "sample \(index) assembled \(written) tokens, expected \(sampleLength)")
    }

    /// The sequence ids sample `index` draws from, in order (megatron's `document_ids`).
    public func sequenceIDs(ofSample index: Int) -> [Int] {
        let i = Int(indices.shuffleIndex[index])
        let begin = Int(indices.sampleIndex[2 * i]), end = Int(indices.sampleIndex[2 * i + 2])
        return (begin...end).map { Int(indices.documentIndex[$0]) }
    }

    static func describe(dataset: IndexedDataset, split: DatasetSplit, documents: Range<Int>, samples: Int?,
                         config: GPTDatasetConfig) -> String {
        let path = URL(fileURLWithPath: dataset.prefix).standardizedFileURL.path
        // Everything that shapes the indices, plus the data's own counts so a rewritten corpus
        // under the same name misses the cache.
        return """
        {"class": "GPTDataset", "format": 1, "dataset_path": \(JSONString.quoted(path)), \
        "sequences": \(dataset.sequenceCount), "tokens": \(dataset.tokenCount), \
        "split": "\(split)", "documents": [\(documents.lowerBound), \(documents.upperBound)], \
        "num_samples": \(samples.map(String.init) ?? "null"), "sequence_length": \(config.sequenceLength), \
        "random_seed": \(config.seed), "add_extra_token_to_sequence": \(config.addExtraToken)}
        """
    }

    private func store(_ cache: IndexCache, description: String) throws {
        let maxSample = max(indices.documentIndex.count, Int(dataset.sequenceLengths().max() ?? 0))
        let sampleElement: NPYFile.Element = maxSample <= Int(Int32.max) ? .int32 : .int64
        let shuffleElement: NPYFile.Element = indices.sampleCount >= Int(UInt32.max) - 1 ? .int64 : .uint32
        try cache.store(kind: "GPTDataset", split: split, description: description, arrays: [
            ("document_index", indices.documentIndex.map(Int64.init), [indices.documentIndex.count], .int32),
            ("sample_index", indices.sampleIndex, [indices.sampleCount + 1, 2], sampleElement),
            ("shuffle_index", indices.shuffleIndex, [indices.shuffleIndex.count], shuffleElement),
        ])
    }

    // A cached entry is trusted only after a bounds check, so a damaged cache fails loudly.
    private func checkIndices() throws {
        let docCount = indices.documentIndex.count
        guard indices.sampleIndex.count >= 2, indices.sampleIndex.count % 2 == 0,
              indices.shuffleIndex.count == sampleCount,
              indices.documentIndex.allSatisfy({ documents.contains(Int($0)) }),
              stride(from: 0, to: indices.sampleIndex.count, by: 2).allSatisfy({
                  indices.sampleIndex[$0] >= 0 && indices.sampleIndex[$0] < max(docCount, 1)
              }),
              indices.shuffleIndex.allSatisfy({ $0 >= 0 && $0 < sampleCount }) else {
            let where_ = loadedFromCache ? config.cacheDirectory ?? IndexCache.defaultDirectory(forPrefix: dataset.prefix) : dataset.prefix
            throw DataError.corrupt(path: where_, message: "the GPTDataset \(split) indices are inconsistent with \(dataset.prefix)\(loadedFromCache ? "; delete the cache entry" : "")")
        }
    }
}

