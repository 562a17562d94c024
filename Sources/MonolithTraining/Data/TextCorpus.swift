import Foundation
import MonolithKernels
import MonolithTokenizer

/// Saved position of a training data stream; restoring it replays the same batches.
public struct DataState: Codable, Sendable, Equatable {
    /// Random state of the window sampler (text corpora).
    public var rngState: UInt64 = 0
    /// Micro-batches drawn so far.
    public var batchesDrawn = 0
    /// Sequences consumed so far (for batch ramp-up and Megatron-style loaders).
    public var consumedSamples = 0
    enum CodingKeys: String, CodingKey {
        case rngState = "rng_state", batchesDrawn = "batches_drawn", consumedSamples = "consumed_samples"
    }
}

/// Where training and validation batches come from.
public protocol BatchSource: AnyObject {
    /// Vocabulary size the ids come from.
    var vocabularySize: Int { get }
    /// The next training micro-batch of `batch` sequences of `seqLen` tokens (+ shifted targets).
    func nextBatch(batch: Int, seqLen: Int) throws -> TokenBatch
    /// Fixed validation batches; `limit` 0 means the whole validation split.
    func validationBatches(batch: Int, seqLen: Int, limit: Int) throws -> [TokenBatch]
    /// The stream position, for checkpoints.
    var state: DataState { get set }
    /// One line describing the data, for the log.
    var summary: String { get }
}

/// A tokenized text corpus held in memory, split by position (nanoGPT's `prepare.py` + `get_batch`):
/// the first `trainFraction` of the tokens train, the rest validate; training windows start at
/// uniformly random offsets, validation covers its split in consecutive windows.
public final class TextCorpus: BatchSource {
    let train: [Int32], validation: [Int32]
    public let vocabularySize: Int
    public var state: DataState
    public let summary: String

    /// Tokenizes `text` with `tokenizer` and splits it.
    public init(text: String, tokenizer: any TextTokenizer, trainFraction: Double, seed: UInt64, name: String) throws {
        let tokens = tokenizer.encode(text)
        let cut = Int(Double(tokens.count) * trainFraction)
        train = Array(tokens[..<cut]); validation = Array(tokens[cut...])
        vocabularySize = tokenizer.vocabularySize
        state = DataState(rngState: seed)
        summary = "\(name): \(text.utf8.count) bytes, \(tokens.count) tokens (\(train.count) train, \(validation.count) validation), vocabulary \(vocabularySize)"
    }

    public func nextBatch(batch: Int, seqLen: Int) throws -> TokenBatch {
        guard train.count > seqLen + 1 else {
            throw TrainingError("the training split has \(train.count) tokens, fewer than context + 1 = \(seqLen + 1)")
        }
        var rng = SplitMix64(seed: state.rngState)
        var ids = [Int32](), targets = [Int32]()
        ids.reserveCapacity(batch * seqLen); targets.reserveCapacity(batch * seqLen)
        for _ in 0..<batch {
            let start = Int(rng.next() % UInt64(train.count - seqLen))
            ids += train[start..<(start + seqLen)]
            targets += train[(start + 1)...(start + seqLen)]
        }
        state.rngState = rng.state
        state.batchesDrawn += 1
        state.consumedSamples += batch
        return TokenBatch(ids: ids, targets: targets, batch: batch, seqLen: seqLen)
    }

    public func validationBatches(batch: Int, seqLen: Int, limit: Int) throws -> [TokenBatch] {
        guard validation.count > seqLen + 1 else {
            throw TrainingError("the validation split has \(validation.count) tokens, fewer than context + 1 = \(seqLen + 1)")
        }
        var windows: [Int] = []
        var start = 0
        while start + seqLen + 1 <= validation.count { windows.append(start); start += seqLen }
        var out: [TokenBatch] = []
        var i = 0
        while i < windows.count && (limit == 0 || out.count < limit) {
            let group = windows[i..<min(windows.count, i + batch)]
            var ids = [Int32](), targets = [Int32]()
            for s in group { ids += validation[s..<(s + seqLen)]; targets += validation[(s + 1)...(s + seqLen)] }
            out.append(TokenBatch(ids: ids, targets: targets, batch: group.count, seqLen: seqLen))
            i += batch
        }
        return out
    }
}

/// A training-job failure with a message meant for the user.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
