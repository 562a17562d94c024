import Foundation
import MonolithKernels

/// Picks the next token from logits: greedy, or temperature → top-k → top-p sampling, in the
/// order Hugging Face's logits processors apply them. Reproducible for a given seed.
public struct Sampler: Sendable {
    /// 0 means greedy (argmax); otherwise logits are divided by it.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of tokens whose probability reaches `topP` (1 = no limit).
    public var topP: Float
    /// Random state; advancing it is what makes each draw differ.
    public var rng: SplitMix64

    /// Creates a sampler; `temperature: 0` is greedy decoding.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; rng = SplitMix64(seed: seed)
    }

    /// Checks the settings, naming the bad flag.
    public func validate() throws {
        if !(temperature >= 0) { throw SamplerError("--temperature must be ≥ 0, got \(temperature)") }
        if topK < 0 { throw SamplerError("--top-k must be ≥ 0, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw SamplerError("--top-p must be in (0, 1], got \(topP)") }
    }

    /// The chosen token id.
    public mutating func next(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if temperature == 0 { return Int32(Self.argmax(logits)) }
        let invT = 1 / temperature
        if (topK == 0 || topK >= logits.count) && topP >= 1 {
            // Nothing is cut: draw in vocabulary order. Sorting 50k logits per token cost
            // milliseconds, as much as a decode step of a small model.
            let m = logits[Self.argmax(logits)] * invT
            var total = 0.0
            for x in logits { total += Double(exp(x * invT - m)) }
            var u = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * total
            var last = 0
            for (i, x) in logits.enumerated() {
                let p = Double(exp(x * invT - m))
                if p > 0 { last = i }
                u -= p
                if u < 0 { return Int32(i) }
            }
            return Int32(last)
        }
        var order: [Int]
        if topK > 0 && topK < logits.count {
            // The k largest by one pass over a sorted buffer of k (k is small), not a full sort.
            order = []
            order.reserveCapacity(topK + 1)
            for i in 0..<logits.count where order.count < topK || logits[i] > logits[order[order.count - 1]] {
                let at = order.firstIndex { logits[i] > logits[$0] } ?? order.count
                order.insert(i, at: at)
                if order.count > topK { order.removeLast() }
            }
        } else {
            order = Array(0..<logits.count)
            order.sort { logits[$0] > logits[$1] }
        }
        let m = logits[order[0]] * invT
        var probs = order.map { Double(exp(logits[$0] * invT - m)) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        var keep = probs.count
        if topP < 1 {
            var cumulative = 0.0
            for (i, p) in probs.enumerated() {
                cumulative += p
                if cumulative >= Double(topP) { keep = i + 1; break }
            }
        }
        let kept = probs[0..<keep].reduce(0, +)
        var u = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * kept
        for i in 0..<keep {
            u -= probs[i]
            if u < 0 { return Int32(order[i]) }
        }
        return Int32(order[keep - 1])
    }

    /// Index of the largest logit (the first one on ties, as `torch.argmax`).
    public static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }
}

/// A rejected sampling setting.
public struct SamplerError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
