import MonolithKernels
/// The per-document metrics of lm-eval's `ConfigurableTask.process_results`.
public enum DocumentMetrics {
    /// `np.argmax`: the first index of the largest value.
    static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for k in values.indices where values[k] > values[best] { best = k }
        return best
    }

    /// Metric values of one document from its requests' scores, in the task's metric order.
    ///
    /// - Continuation: `perplexity` is the log-likelihood itself (aggregated later), `acc` is
    ///   `int(is_greedy)`.
    /// - Choices: `acc` is 1.0 when the argmax of log-likelihoods is the gold index; `acc_norm`
    ///   the same after dividing each by its choice's length in code points (`len(choice)`, the
    ///   choice text without the delimiter; partial scoring divides by the context's length, as
    ///   lm-eval's `doc_to_choice` there returns the contexts).
    public static func compute(task: EvalTask, prompt: DocumentPrompt, scores: [TokenScore]) -> [(MetricKind, JSONValue)] {
        switch prompt {
        case .continuation:
            let s = scores[0]
            return task.metrics.map { m in
                switch m {
                case .perplexity: return (m, .double(s.logLikelihood))
                case .acc, .accNorm: return (m, .int(s.isGreedy ? 1 : 0))
                }
            }
        case .choices(_, let choices, let gold), .partial(let choices, _, let gold):
            let lls = scores.map(\.logLikelihood)
            let pred = argmax(lls)
            let predNorm = argmax(zip(lls, choices).map { $0 / Double(PythonString.length($1)) })
            return task.metrics.map { m in
                switch m {
                case .acc: return (m, .double(pred == gold ? 1 : 0))
                case .accNorm: return (m, .double(predNorm == gold ? 1 : 0))
                case .perplexity: return (m, .double(scores[gold].logLikelihood))
                }
            }
        }
    }
}
