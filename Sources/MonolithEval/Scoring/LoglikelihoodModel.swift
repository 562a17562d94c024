/// The log-likelihood of one request's continuation and whether every continuation token is the
/// model's argmax (lm-eval's `(logprob, is_greedy)`).
public struct TokenScore: Equatable, Sendable {
    public let logLikelihood: Double
    public let isGreedy: Bool

    public init(logLikelihood: Double, isGreedy: Bool) {
        self.logLikelihood = logLikelihood; self.isGreedy = isGreedy
    }
}

/// A model the evaluator can score requests with. ``GPTScorer`` runs a Monolith ``GPT``; another
/// architecture plugs in by conforming.
public protocol LoglikelihoodModel: AnyObject {
    /// The longest input the model reads (lm-eval's `max_length`).
    var maxLength: Int { get }
    /// Identifies the weights, so cached scores of one model are never served for another.
    var fingerprint: String { get }
    /// Scores `groups` of requests. The requests of one group belong to one document and usually
    /// share a prefix (the context of its choices), which an implementation may compute once.
    /// `progress(n)` reports `n` more groups done. Returns one score per request, grouped alike.
    func score(_ groups: [[TokenizedRequest]], progress: (Int) -> Void) throws -> [[TokenScore]]
}
