/// Where a `BatchLoader` is in its sample stream; `Codable` so it goes into a checkpoint.
public struct LoaderState: Codable, Sendable, Equatable {
    /// Samples consumed by all data-parallel ranks together (Megatron's `consumed_samples`).
    public var consumedSamples: Int
    /// Fingerprint of the sample source the position refers to.
    public var sourceFingerprint: String
}

/// Yields `[B, T+1]` token batches for one data-parallel rank, Megatron-style.
///
/// Sharding follows megatron-core's `MegatronPretrainingSampler`: the global sample stream is cut
/// into steps of `B · d` consecutive samples (B the micro-batch size, d the data-parallel size),
/// and rank `r` takes the contiguous slice `r·B ..< (r+1)·B` of each step. With B = 2 and d = 3:
///
///     step 0: rank 0 ← samples 0 1, rank 1 ← 2 3, rank 2 ← 4 5
///     step 1: rank 0 ← samples 6 7, rank 1 ← 8 9, rank 2 ← 10 11
///
/// The sample stream is already shuffled (`GPTDataset`'s shuffle index), so contiguous slices
/// are as random as strided ones, and they make the position a single global number: the state
/// saved by any rank resumes every rank, even under a different data-parallel size. A final step
/// with fewer than `B · d` samples is dropped (Megatron's `drop_last`).
///
/// ```swift
/// let loader = try BatchLoader(source: train, microBatchSize: 8, rank: rank, dataParallelSize: world)
/// while let batch = loader.next() { ... }          // 8 × (T+1) Int32, row-major
/// checkpoint.loader = loader.state                 // later: BatchLoader(..., state: saved)
/// ```
public final class BatchLoader {
    /// The samples.
    public let source: any SampleSource
    /// Samples per rank per step (B).
    public let microBatchSize: Int
    /// This rank.
    public let rank: Int
    /// Number of data-parallel ranks (d).
    public let dataParallelSize: Int
    /// The position, to save and restore.
    public private(set) var state: LoaderState

    /// A loader at the start of `source`, or at `state` (which must come from the same source).
    public init(source: any SampleSource, microBatchSize: Int, rank: Int = 0, dataParallelSize: Int = 1,
                state: LoaderState? = nil) throws {
        guard microBatchSize > 0 else { throw DataError.invalidArgument("micro-batch size must be positive, got \(microBatchSize)") }
        guard dataParallelSize > 0, rank >= 0, rank < dataParallelSize else {
            throw DataError.invalidArgument("rank \(rank) is not in 0..<\(dataParallelSize)")
        }
        guard source.sampleCount >= microBatchSize * dataParallelSize else {
            throw DataError.invalidArgument("the dataset has \(source.sampleCount) samples, fewer than one step of \(microBatchSize) × \(dataParallelSize)")
        }
        if let state {
            guard state.sourceFingerprint == source.fingerprint else {
                throw DataError.invalidArgument("the saved loader position belongs to another dataset or configuration:\n  saved: \(state.sourceFingerprint)\n  now:   \(source.fingerprint)")
            }
            guard state.consumedSamples >= 0 && state.consumedSamples <= source.sampleCount else {
                throw DataError.invalidArgument("saved position \(state.consumedSamples) is outside the \(source.sampleCount) samples")
            }
        }
        self.source = source
        self.microBatchSize = microBatchSize
        self.rank = rank
        self.dataParallelSize = dataParallelSize
        self.state = state ?? LoaderState(consumedSamples: 0, sourceFingerprint: source.fingerprint)
    }

    /// Samples per step over all ranks (B · d).
    public var globalStepSamples: Int { microBatchSize * dataParallelSize }

    /// Steps left before the data runs out.
    public var remainingSteps: Int { (source.sampleCount - state.consumedSamples) / globalStepSamples }

    /// The global sample ids this rank reads at the current step.
    public var nextSampleIDs: Range<Int>? {
        guard remainingSteps > 0 else { return nil }
        let start = state.consumedSamples + rank * microBatchSize
        return start..<start + microBatchSize
    }

    /// Writes the next `B × (T+1)` batch to `out` and advances; `false` when the data is exhausted.
    public func next(into out: UnsafeMutableBufferPointer<Int32>) -> Bool {
        precondition(out.count >= microBatchSize * source.sampleLength, "batch buffer holds \(out.count) tokens, needs \(microBatchSize * source.sampleLength)")
        guard let ids = nextSampleIDs else { return false }
        for (row, id) in ids.enumerated() {
            source.copySample(id, into: out.baseAddress! + row * source.sampleLength)
        }
        state.consumedSamples += globalStepSamples
        return true
    }

    /// The next `B × (T+1)` batch, row-major, or `nil` when the data is exhausted.
    public func next() -> [Int32]? {
        let n = microBatchSize * source.sampleLength
        var ok = false
        let batch = [Int32](unsafeUninitializedCapacity: n) { buffer, count in
            ok = next(into: buffer)
            count = ok ? n : 0
        }
        return ok ? batch : nil
    }
}
