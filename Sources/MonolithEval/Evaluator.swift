import Foundation
import MonolithKernels
import MonolithTokenizer

/// How an evaluation runs (the `monolith eval` options).
public struct EvalOptions: Sendable {
    /// Few-shot examples per prompt (`--num-fewshot`).
    public var numFewshot: Int
    /// Documents per task, from the first (`--limit`; nil: all).
    public var limit: Int?
    /// `fewshot_random_seed` (`--seed`; lm-eval's default 1234).
    public var fewshotSeed: Int
    /// Resamples for bootstrap standard errors (lm-eval's `bootstrap_iters`, 100000).
    public var bootstrapIters: Int

    public init(numFewshot: Int = 0, limit: Int? = nil, fewshotSeed: Int = 1234, bootstrapIters: Int = 100_000) {
        self.numFewshot = numFewshot; self.limit = limit; self.fewshotSeed = fewshotSeed; self.bootstrapIters = bootstrapIters
    }
}

/// One task's outcome: every document's requests, scores and metrics, and the aggregates.
public struct TaskResult: Sendable {
    /// An aggregated metric and its standard error (nil: lm-eval's "N/A").
    public struct Metric: Sendable {
        public let kind: MetricKind
        public let value: Double
        public let stderr: Double?
    }

    public let task: EvalTask
    public let numFewshot: Int
    /// Requests of each evaluated document.
    public let documents: [DocumentRequests]
    /// Tokens of each request.
    public let tokenized: [[TokenizedRequest]]
    /// Scores of each request.
    public let scores: [[TokenScore]]
    /// Per-document metric values, in the task's metric order.
    public let documentMetrics: [[(MetricKind, JSONValue)]]
    /// Aggregates, in the task's metric order.
    public let metrics: [Metric]
    /// Requests cut from the left to fit the model's context.
    public let truncatedRequests: Int
    /// Requests whose score came from the cache.
    public let cachedRequests: Int
}

/// Runs tasks the way lm-eval's `simple_evaluate` does: build each document's requests (with
/// few-shot examples), tokenize them as its `hf` model does, score them (from the cache when
/// possible), compute per-document metrics and aggregate them with standard errors.
///
/// ```swift
/// let evaluator = Evaluator(model: GPTScorer(model: gpt), tokenizer: tok, cache: nil)
/// let results = try evaluator.run(tasks, options: EvalOptions(numFewshot: 5))
/// ```
public final class Evaluator {
    public let model: any LoglikelihoodModel
    public let tokenizer: any TextTokenizer
    public let cache: LoglikelihoodCache?
    /// Draws a progress bar on standard error.
    public var showProgress: Bool
    let pool: WorkerPool

    public init(model: any LoglikelihoodModel, tokenizer: any TextTokenizer, cache: LoglikelihoodCache?, showProgress: Bool = false,
                pool: WorkerPool = .shared) {
        self.model = model; self.tokenizer = tokenizer; self.cache = cache; self.showProgress = showProgress; self.pool = pool
    }

    /// Evaluates every task in order.
    public func run(_ tasks: [EvalTask], options: EvalOptions) throws -> [TaskResult] {
        let encoder = RequestEncoder(tokenizer: tokenizer, maxLength: model.maxLength, prefixToken: tokenizer.endOfText)
        return try tasks.map { try run($0, options: options, encoder: encoder) }
    }

    func run(_ task: EvalTask, options: EvalOptions, encoder: RequestEncoder) throws -> TaskResult {
        let documents = try RequestBuilder.build(task, numFewshot: options.numFewshot, limit: options.limit, seed: options.fewshotSeed)
        let tokenized = try tokenize(documents, task: task, encoder: encoder)
        var scores = tokenized.map { [TokenScore?](repeating: nil, count: $0.count) }
        var cached = 0
        if let cache {
            for (d, group) in tokenized.enumerated() {
                for (k, r) in group.enumerated() { if let s = cache.lookup(r) { scores[d][k] = s; cached += 1 } }
            }
        }
        let todo = tokenized.indices.filter { d in scores[d].contains { $0 == nil } }
        let bar = ProgressBar(label: task.name, total: documents.count, enabled: showProgress)
        bar.advance(documents.count - todo.count)
        let computed = try model.score(todo.map { tokenized[$0] }) { bar.advance($0) }
        bar.finish()
        for (k, d) in todo.enumerated() {
            for (i, s) in computed[k].enumerated() {
                if scores[d][i] == nil { scores[d][i] = s }
                cache?.store(tokenized[d][i], s)
            }
        }
        try cache?.flush()
        let final = scores.map { $0.map { $0! } }
        let perDoc = documents.indices.map { d in
            DocumentMetrics.compute(task: task, prompt: task.documents[documents[d].docID].prompt, scores: final[d])
        }
        let metrics = task.metrics.enumerated().map { k, m in
            let xs = perDoc.map { $0[k].1.double! }
            return TaskResult.Metric(kind: m, value: Aggregation.value(m, xs),
                                     stderr: Aggregation.stderr(m, xs, bootstrapIters: options.bootstrapIters, pool: pool))
        }
        return TaskResult(task: task, numFewshot: options.numFewshot, documents: documents, tokenized: tokenized, scores: final,
                          documentMetrics: perDoc, metrics: metrics, truncatedRequests: tokenized.joined().filter { $0.truncated > 0 }.count,
                          cachedRequests: cached)
    }

    /// Tokenizes every request, documents in parallel; a request that cannot be scored is an
    /// error naming the task's file and the document's line.
    func tokenize(_ documents: [DocumentRequests], task: EvalTask, encoder: RequestEncoder) throws -> [[TokenizedRequest]] {
        let results = TokenizeResults(count: documents.count)
        DispatchQueue.concurrentPerform(iterations: documents.count) { d in
            do {
                results.set(d, .success(try documents[d].requests.map { try encoder.encode($0) }))
            } catch {
                let line = task.documents[documents[d].docID].line
                results.set(d, .failure(EvalError(file: task.source, line: line, "\(error)")))
            }
        }
        // The first failing document's error, whatever order the threads ran in.
        return try results.values.map { try $0!.get() }
    }
}

/// Per-document tokenization results written from concurrent threads.
final class TokenizeResults: @unchecked Sendable {
    var values: [Result<[TokenizedRequest], EvalError>?]
    let lock = NSLock()

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Result<[TokenizedRequest], EvalError>) {
        lock.lock(); values[index] = value; lock.unlock()
    }
}
