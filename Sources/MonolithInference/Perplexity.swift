import Foundation
import MonolithModel

/// Perplexity by Hugging Face's sliding-window convention: windows of `context` tokens start every
/// `stride` tokens, and each window scores only the tokens the previous window did not, so with
/// `stride < context` every scored token sees at least `context − stride` tokens of history.
///
/// To equal transformers' number exactly, each window's mean loss is weighted as the transformers
/// perplexity guide does: by its count of labelled positions minus one (`num_valid_tokens -
/// batch_size`). After the first window that is one less than the tokens actually scored, a small
/// bias we keep on purpose so results compare one to one.
public enum Perplexity {
    /// Result of a perplexity run.
    public struct Result: Codable, Sendable {
        /// Mean negative log-likelihood per scored token (nats).
        public let meanLoss: Double
        /// `exp(meanLoss)`.
        public let perplexity: Double
        /// Total weight of the windows (tokens scored, less one per window after the first) and windows run.
        public let tokens: Int, windows: Int
        enum CodingKeys: String, CodingKey { case meanLoss = "mean_loss", perplexity, tokens, windows }
    }

    /// The mean loss of one window: `ids` with `targets` (−1 where a position is not scored).
    public typealias Scorer = (_ ids: [Int32], _ targets: [Int32]) throws -> Double

    /// Scores windows with `model`'s training forward (fp32 or bf16-rounded weights).
    public static func scorer(_ model: GPT) -> Scorer {
        { ids, targets in
            try ids.withUnsafeBufferPointer { i in
                try targets.withUnsafeBufferPointer { t in
                    Double(try model.forward(ids: i.baseAddress!, targets: t.baseAddress!, batch: 1, seqLen: ids.count)!)
                }
            }
        }
    }

    /// Scores windows through `session`'s decode steps and weights (slot 0), for the native path.
    public static func scorer(_ session: DecodeSession) -> Scorer {
        { ids, targets in
            let lp = try session.targetLogProbabilities(slot: 0, ids, targets: targets)
            let scored = zip(lp, targets).filter { $0.1 >= 0 }
            return -scored.reduce(0.0) { $0 + $1.0 } / Double(max(1, scored.count))
        }
    }

    /// Scores `tokens` with `model`.
    public static func evaluate(model: GPT, tokens: [Int32], context: Int, stride: Int,
                                progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        try evaluate(scorer(model), maxContext: model.config.contextLength, tokens: tokens, context: context, stride: stride,
                     progress: progress)
    }

    /// Scores `tokens` window by window with `score`, for a model of `maxContext` positions.
    public static func evaluate(_ score: Scorer, maxContext: Int, tokens: [Int32], context: Int, stride: Int,
                                progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        guard context >= 2, context <= maxContext else {
            throw ModelInputError("--context \(context) must be in 2...\(maxContext) (n_positions)")
        }
        guard stride >= 1, stride <= context else { throw ModelInputError("--stride \(stride) must be in 1...\(context)") }
        guard tokens.count >= 2 else { throw ModelInputError("the text has \(tokens.count) token(s); perplexity needs at least 2") }
        var nll = 0.0, count = 0, windows = 0, prevEnd = 0, begin = 0
        while begin < tokens.count {
            let end = min(begin + context, tokens.count)
            let len = end - begin, trgLen = end - prevEnd
            let ids = Array(tokens[begin..<end])
            // Position i predicts token i+1; only the last trgLen tokens of the window are scored.
            var targets = [Int32](repeating: -1, count: len)
            for i in 0..<(len - 1) where i + 1 >= len - trgLen { targets[i] = tokens[begin + i + 1] }
            let scored = targets.filter { $0 >= 0 }.count
            let weight = min(trgLen, len) - 1
            if scored > 0 && weight > 0 {
                nll += try score(ids, targets) * Double(weight)
                count += weight
            }
            windows += 1
            progress?(end, tokens.count)
            prevEnd = end
            if end == tokens.count { break }
            begin += stride
        }
        let mean = nll / Double(count)
        return Result(meanLoss: mean, perplexity: exp(mean), tokens: count, windows: windows)
    }
}

extension Perplexity {
    /// Perplexity by `llama-perplexity`'s convention: the tokens are cut into `tokens / context`
    /// whole chunks of `context` (the remainder is dropped); in each chunk the first token is
    /// replaced by `bos` when the model adds one, and only the second half of the positions is
    /// scored (each scored token sees at least `context / 2` tokens of history).
    public static func evaluateChunks(model: GPT, tokens: [Int32], context: Int, bos: Int32?,
                                      progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        try evaluateChunks(scorer(model), maxContext: model.config.contextLength, tokens: tokens, context: context, bos: bos,
                           progress: progress)
    }

    /// ``evaluateChunks(model:tokens:context:bos:progress:)`` with chunks scored by `score`.
    public static func evaluateChunks(_ score: Scorer, maxContext: Int, tokens: [Int32], context: Int, bos: Int32?,
                                      progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        guard context >= 4, context <= maxContext else {
            throw ModelInputError("--context \(context) must be in 4...\(maxContext)")
        }
        let chunks = tokens.count / context
        guard chunks >= 1 else {
            throw ModelInputError("the text has \(tokens.count) tokens; llama.cpp's convention needs at least one chunk of \(context)")
        }
        let first = context / 2
        var nll = 0.0, count = 0
        for c in 0..<chunks {
            var ids = Array(tokens[(c * context)..<((c + 1) * context)])
            if let bos { ids[0] = bos }
            var targets = [Int32](repeating: -1, count: context)
            for i in first..<(context - 1) { targets[i] = tokens[c * context + i + 1] }
            nll += try score(ids, targets) * Double(context - 1 - first)
            count += context - 1 - first
            progress?(c + 1, chunks)
        }
        let mean = nll / Double(count)
        return Result(meanLoss: mean, perplexity: exp(mean), tokens: count, windows: chunks)
    }
}
