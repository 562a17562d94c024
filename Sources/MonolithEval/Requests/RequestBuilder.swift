/// One scoring request: the log-likelihood of `continuation` after `context` (lm-eval's
/// `Instance.arguments`).
public struct LoglikelihoodRequest: Hashable, Sendable {
    public let context: String
    public let continuation: String

    public init(context: String, continuation: String) {
        self.context = context; self.continuation = continuation
    }
}

/// A document's requests: one per choice (or one for a continuation task).
public struct DocumentRequests: Sendable {
    /// Position of the document in its task (lm-eval's `doc_id`).
    public let docID: Int
    /// Pool indices of the few-shot examples in the prompt.
    public let fewshot: [Int]
    public let requests: [LoglikelihoodRequest]
}

/// Builds lm-eval's contexts and continuations (`ConfigurableTask.fewshot_context` and
/// `construct_requests`) for a task's documents.
///
/// A few-shot example is `question + target_delimiter + answer + fewshot_delimiter` (an empty
/// answer leaves the example as the bare question, as lm-eval's `build_qa_turn`); the examples
/// are concatenated in draw order and the document's question follows. Then:
/// - continuation: `(prefix + context, target)` (no delimiter: the target carries its space);
/// - multiple choice: `(prefix + query, target_delimiter + choice)` per choice;
/// - partial: `(prefix + context_i, target_delimiter + continuation)` per context.
public enum RequestBuilder {
    /// Requests of the first `limit` documents (all when nil) of `task`, with `numFewshot`
    /// examples drawn with `seed`.
    /// - Throws: ``EvalError`` when the pool cannot give `numFewshot` examples besides the
    ///   document itself.
    public static func build(_ task: EvalTask, numFewshot: Int, limit: Int?, seed: Int) throws -> [DocumentRequests] {
        let count = min(limit ?? task.documents.count, task.documents.count)
        if numFewshot > 0, numFewshot + 1 > task.documents.count {
            throw EvalError(file: task.source,
                            "--num-fewshot \(numFewshot) is larger than the pool: the file holds \(task.documents.count) documents, and examples exclude the evaluated one (at most \(task.documents.count - 1))")
        }
        var sampler = FewShotSampler(pool: task.documents, seed: seed)
        return (0..<count).map { id in
            let doc = task.documents[id]
            let shots = sampler.sample(numFewshot, for: doc)
            var prefix = ""
            for k in shots {
                let p = task.documents[k].prompt
                let answer = p.exampleAnswer
                prefix += answer.isEmpty ? p.exampleQuestion : p.exampleQuestion + task.targetDelimiter + answer + task.fewshotDelimiter
            }
            let requests: [LoglikelihoodRequest]
            switch doc.prompt {
            case .continuation(let context, let target):
                requests = [LoglikelihoodRequest(context: prefix + context, continuation: target)]
            case .choices(let query, let choices, _):
                requests = choices.map { LoglikelihoodRequest(context: prefix + query, continuation: task.targetDelimiter + $0) }
            case .partial(let contexts, let continuation, _):
                requests = contexts.map { LoglikelihoodRequest(context: prefix + $0, continuation: task.targetDelimiter + continuation) }
            }
            return DocumentRequests(docID: id, fewshot: shots, requests: requests)
        }
    }
}
