/// Settings of Megatron-style GPT sampling (`GPTDatasetConfig` in megatron-core).
public struct GPTDatasetConfig: Codable, Sendable, Equatable {
    /// Tokens the model sees per sample (T). Each sample holds T + 1 tokens: inputs are the first
    /// T, targets the last T.
    public var sequenceLength: Int
    /// Seed of the document and sample shuffles (Megatron's `--seed`; its default is 1234).
    public var seed: UInt32 = 1234
    /// Train/valid/test weights over each dataset's documents, e.g. `"969,30,1"`.
    public var split: String = "969,30,1"
    /// Draw `sequenceLength + 1` tokens per sample (Megatron's `add_extra_token_to_sequence`).
    public var addExtraToken: Bool = true
    /// Directory of cached indices; `nil` puts them in `cache/GPTDataset_indices` beside the first dataset.
    public var cacheDirectory: String? = nil
    /// Fraction of extra samples each blended dataset builds beyond its share, so rounding in the
    /// blending index never asks a dataset for more samples than it has (megatron-core's
    /// `mid_level_dataset_surplus`, default 0.005).
    public var blendSurplus: Double = 0.005

    /// A configuration with `sequenceLength` and Megatron's defaults otherwise.
    public init(sequenceLength: Int) { self.sequenceLength = sequenceLength }

    /// Checks the values.
    public func validate() throws {
        guard sequenceLength > 1 else { throw DataError.invalidArgument("sequenceLength must exceed 1, got \(sequenceLength)") }
        _ = try SplitSpecification(split)
        guard blendSurplus >= 0 && blendSurplus.isFinite else {
            throw DataError.invalidArgument("blendSurplus must be a non-negative number, got \(blendSurplus)")
        }
    }

    /// The tokens per sample: `sequenceLength + 1` with the extra target token.
    public var sampleLength: Int { sequenceLength + (addExtraToken ? 1 : 0) }
}

/// Anything the batch loader can draw fixed-length token samples from: a `GPTDataset` or a
/// `BlendedDataset` of several.
public protocol SampleSource: AnyObject, Sendable {
    /// Number of samples.
    var sampleCount: Int { get }
    /// Tokens per sample.
    var sampleLength: Int { get }
    /// A string that changes whenever the samples would: the data and every parameter that
    /// shapes the indices. The loader refuses to resume a saved position on another source.
    var fingerprint: String { get }
    /// Writes the `sampleLength` tokens of sample `index` to `out`.
    func copySample(_ index: Int, into out: UnsafeMutablePointer<Int32>)
}

extension SampleSource {
    /// The tokens of sample `index`.
    public func sample(_ index: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: sampleLength) { buffer, n in
            copySample(index, into: buffer.baseAddress!)
            n = sampleLength
        }
    }
}
