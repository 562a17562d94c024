import Foundation
import MonolithData

/// Training data from Megatron indexed datasets (`PREFIX.bin/.idx`), sampled with Megatron's GPT
/// dataset semantics: documents shuffled by seed, `seq_len + 1`-token samples that cross document
/// boundaries over as many epochs as needed, a document-level train/valid/test split, and
/// weighted blends (`[0.3, A, 0.7, B]`) with the exact-proportion blending index.
///
/// The stream position is Megatron's `consumed_samples`, so a checkpoint resumes it exactly.
public final class MegatronCorpus: BatchSource {
    let train: any SampleSource
    let validation: (any SampleSource)?
    public let vocabularySize: Int
    public var state: DataState
    public let summary: String

    /// Builds (or loads cached) indices for `trainSamples` training and `validSamples` validation
    /// samples of `seqLen` tokens (`nil`: one epoch of the validation documents).
    public init(paths: [String], split: String, seed: UInt64, seqLen: Int, trainSamples: Int, validSamples: Int?,
                vocabularySize: Int) throws {
        let blend = try BlendSpecification(paths)
        var config = GPTDatasetConfig(sequenceLength: seqLen)
        config.seed = UInt32(truncatingIfNeeded: seed)
        config.split = split
        let sources = try GPTDatasetBuilder.build(blend: blend, config: config, sizes: [trainSamples, validSamples, nil])
        guard let trainSource = sources[0] else {
            throw TrainingError("data.split \"\(split)\" gives the training split no documents")
        }
        train = trainSource
        validation = sources[1]
        self.vocabularySize = vocabularySize
        state = DataState()
        summary = "Megatron datasets \(blend.prefixes.joined(separator: ", ")): \(train.sampleCount) training samples"
            + (validation.map { ", \($0.sampleCount) validation samples" } ?? ", no validation split") + " of \(seqLen + 1) tokens"
    }

    public func nextBatch(batch: Int, seqLen: Int) throws -> TokenBatch {
        guard state.consumedSamples + batch <= train.sampleCount else {
            throw TrainingError("the training split has \(train.sampleCount) samples; all were consumed (raise the sample budget)")
        }
        let b = Self.batch(from: train, start: state.consumedSamples, count: batch, seqLen: seqLen)
        state.consumedSamples += batch
        state.batchesDrawn += 1
        return b
    }

    public func validationBatches(batch: Int, seqLen: Int, limit: Int) throws -> [TokenBatch] {
        guard let validation, validation.sampleCount > 0 else {
            throw TrainingError("data.split leaves no validation documents; give the second split weight a value > 0")
        }
        var out: [TokenBatch] = []
        var start = 0
        while start < validation.sampleCount && (limit == 0 || out.count < limit) {
            let n = min(batch, validation.sampleCount - start)
            out.append(Self.batch(from: validation, start: start, count: n, seqLen: seqLen))
            start += n
        }
        return out
    }

    static func batch(from source: any SampleSource, start: Int, count: Int, seqLen: Int) -> TokenBatch {
        var ids = [Int32](), targets = [Int32]()
        ids.reserveCapacity(count * seqLen); targets.reserveCapacity(count * seqLen)
        var sample = [Int32](repeating: 0, count: source.sampleLength)
        for i in start..<(start + count) {
            sample.withUnsafeMutableBufferPointer { source.copySample(i, into: $0.baseAddress!) }
            ids += sample[0..<seqLen]
            targets += sample[1...seqLen]
        }
        return TokenBatch(ids: ids, targets: targets, batch: count, seqLen: seqLen)
    }
}
