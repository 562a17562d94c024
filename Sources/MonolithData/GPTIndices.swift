/// The three indices behind Megatron's GPT dataset, built exactly as megatron-core builds them
/// (`gpt_dataset.py`: `_build_document_sample_shuffle_indices`, `_build_document_index`,
/// `_build_shuffle_index`; `helpers.cpp`: `build_sample_idx`).
///
/// - **document index**: the split's sequence ids repeated once per epoch and shuffled with
///   `RandomState(seed)`. When the last epoch is needed for less than 80 % of its samples it is
///   shuffled separately (`separate_final_epoch`), so the partial epoch still visits documents
///   uniformly instead of favouring those the global shuffle put early.
/// - **sample index**: `samples + 1` pairs (position in the document index, token offset). Sample
///   `i` is the `seq_len + 1` tokens from pair `i` to pair `i + 1` (inclusive of one extra
///   token): consecutive samples overlap by one token, so every token is a target exactly once.
///   Samples run across document boundaries, where the EOD token of the preprocessing marks the seam.
/// - **shuffle index**: a permutation of the samples (again separate for a short final epoch).
public struct GPTIndices: Sendable, Equatable {
    /// Sequence ids in visiting order, `epochs × documents` long.
    public var documentIndex: [Int32]
    /// Flattened `(samples + 1) × 2` array of (document-index position, token offset).
    public var sampleIndex: [Int64]
    /// Permutation of `0..<samples`.
    public var shuffleIndex: [Int64]
    /// Epochs over the split needed for the requested samples.
    public var epochs: Int
    /// Whether the last epoch was shuffled on its own.
    public var separateFinalEpoch: Bool

    /// Number of samples.
    public var sampleCount: Int { sampleIndex.count / 2 - 1 }

    /// Builds the indices for the sequences `documents` (ids into `sizes`).
    ///
    /// - Parameters:
    ///   - sizes: token count of every sequence of the underlying dataset.
    ///   - documents: the split's sequence ids (Megatron's `indexed_indices`).
    ///   - requestedSamples: samples to provide, or `nil` for one epoch.
    ///   - sequenceLength: tokens per sample, before the extra target token.
    ///   - seed: `RandomState` seed.
    ///   - addExtraToken: samples hold `sequenceLength + 1` tokens (Megatron's default).
    public static func build(sizes: [Int32], documents: Range<Int>, requestedSamples: Int?,
                             sequenceLength: Int, seed: UInt32, addExtraToken: Bool = true) throws -> GPTIndices {
        let extra = addExtraToken ? 1 : 0
        guard sequenceLength > 1 else { throw DataError.invalidArgument("sequence length must exceed 1, got \(sequenceLength)") }
        let tokensPerEpoch = documents.reduce(0) { $0 + Int(sizes[$1]) }
        if tokensPerEpoch == 0 && (requestedSamples ?? 0) > 0 {
            // megatron-core loops forever here; an empty split simply cannot supply samples.
            throw DataError.invalidArgument("the split holds no tokens but \(requestedSamples!) samples were requested")
        }
        let (epochs, separate, samplesBeforeFinalEpoch) = plan(tokensPerEpoch: tokensPerEpoch, requestedSamples: requestedSamples,
                                                               sequenceLength: sequenceLength, extra: extra)
        var rng = NumpyRandomState(seed: seed)
        let documentIndex = buildDocumentIndex(documents, epochs: epochs, rng: &rng, separateFinalEpoch: separate)
        let sampleIndex = buildSampleIndex(sizes: sizes, documentIndex: documentIndex, sequenceLength: sequenceLength,
                                           epochs: epochs, tokensPerEpoch: tokensPerEpoch, extra: extra)
        let samples = sampleIndex.count / 2 - 1
        let shuffleIndex = separate
            ? buildShuffleIndex(first: samplesBeforeFinalEpoch, total: samples, rng: &rng)
            : buildShuffleIndex(first: samples, total: samples, rng: &rng)
        return GPTIndices(documentIndex: documentIndex, sampleIndex: sampleIndex, shuffleIndex: shuffleIndex,
                          epochs: epochs, separateFinalEpoch: separate)
    }

    /// Megatron's epoch count and its `separate_final_epoch` decision: the last epoch is
    /// shuffled apart when fewer than 80 % of its samples are needed.
    public static func plan(tokensPerEpoch: Int, requestedSamples: Int?, sequenceLength: Int,
                            extra: Int) -> (epochs: Int, separateFinalEpoch: Bool, samplesBeforeFinalEpoch: Int) {
        var epochs = 1
        guard let n = requestedSamples else { return (1, false, 0) }
        var tokens = tokensPerEpoch
        while tokens < n * sequenceLength + extra { epochs += 1; tokens += tokensPerEpoch }
        if epochs == 1 { return (1, false, 0) }
        let before = ((epochs - 1) * tokensPerEpoch - extra) / sequenceLength
        let fromFinal = n - before
        let perEpoch = (tokensPerEpoch - extra) / sequenceLength
        precondition(fromFinal >= 0 && fromFinal <= perEpoch + 1)
        // Megatron: int(0.80 * num_samples_per_epoch), a truncating float product.
        return (epochs, fromFinal < Int(0.80 * Double(perEpoch)), before)
    }

    static func buildDocumentIndex(_ documents: Range<Int>, epochs: Int, rng: inout NumpyRandomState,
                                   separateFinalEpoch: Bool) -> [Int32] {
        if !separateFinalEpoch || epochs == 1 {
            var index = [Int32]()
            index.reserveCapacity(epochs * documents.count)
            for _ in 0..<epochs { for d in documents { index.append(Int32(d)) } }
            rng.shuffle(&index)
            return index
        }
        let first = buildDocumentIndex(documents, epochs: epochs - 1, rng: &rng, separateFinalEpoch: false)
        let last = buildDocumentIndex(documents, epochs: 1, rng: &rng, separateFinalEpoch: false)
        return first + last
    }

    /// `helpers.cpp` `build_sample_idx` with `drop_last_partial_sequence = true`.
    static func buildSampleIndex(sizes: [Int32], documentIndex: [Int32], sequenceLength: Int,
                                 epochs: Int, tokensPerEpoch: Int, extra: Int) -> [Int64] {
        let samples = (epochs * tokensPerEpoch - extra) / sequenceLength
        var out = [Int64](repeating: 0, count: 2 * (samples + 1))
        var position = 0, offset = 0
        var k = 1
        while k <= samples {
            var remaining = sequenceLength + extra
            while remaining != 0 {
                let length = Int(sizes[Int(documentIndex[position])]) - offset
                remaining -= length
                if remaining <= 0 {
                    // The sample ends inside this document; the next starts `extra` tokens earlier
                    // so the two overlap by the target token.
                    offset += remaining + length - extra
                    remaining = 0
                } else {
                    if position == documentIndex.count - 1 {
                        offset = Int(sizes[Int(documentIndex[position])]) - extra
                        break
                    }
                    position += 1
                    offset = 0
                }
            }
            out[2 * k] = Int64(position)
            out[2 * k + 1] = Int64(offset)
            k += 1
        }
        return out
    }

    static func buildShuffleIndex(first: Int, total: Int, rng: inout NumpyRandomState) -> [Int64] {
        var head = (0..<first).map(Int64.init)
        rng.shuffle(&head)
        if first == total { return head }
        var tail = (first..<total).map(Int64.init)
        rng.shuffle(&tail)
        return head + tail
    }
}
