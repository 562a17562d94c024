import MonolithKernels
/// lm-eval's per-document samples (`--log_samples`), one JSON object per line, as its
/// `EvaluationTracker.save_results_samples` writes them: `doc_id`, `doc`, `target`,
/// `arguments` (`{"gen_args_i": {"arg_0": context, "arg_1": continuation}}`), `resps` and
/// `filtered_resps` (values as `str()` of Python's), `filter`, `metrics` (names), `doc_hash`,
/// `prompt_hash`, `target_hash`, then each metric's value. Monolith adds `task` and, for a
/// request cut to the context, `truncated` (tokens dropped per request).
public enum SamplesWriter {
    /// The JSON lines of one task's documents.
    public static func lines(_ r: TaskResult) -> [String] {
        r.documents.indices.map { d in
            let doc = r.task.documents[r.documents[d].docID]
            let requests = r.documents[d].requests, scores = r.scores[d]
            let target = doc.prompt.loggedTarget
            let targetText = target.string ?? target.pythonJSON
            var arguments: [(key: String, value: JSONValue)] = []
            for (i, q) in requests.enumerated() {
                arguments.append(("gen_args_\(i)", .object([("arg_0", .string(q.context)), ("arg_1", .string(q.continuation))])))
            }
            func resp(_ s: TokenScore) -> JSONValue {
                .array([.string(pythonFloatRepr(s.logLikelihood)), .string(s.isGreedy ? "True" : "False")])
            }
            var entry: [(key: String, value: JSONValue)] = [
                ("doc_id", .int(r.documents[d].docID)),
                ("doc", doc.record),
                ("target", .string(targetText)),
                ("arguments", .object(arguments)),
                ("resps", .array(scores.map { .array([resp($0)]) })),
                ("filtered_resps", .array(scores.map(resp))),
                ("filter", .string("none")),
                ("metrics", .array(r.task.metrics.map { .string($0.rawValue) })),
                ("doc_hash", .string(SHA256.hex(doc.record.pythonJSON(indent: 2)))),
                ("prompt_hash", .string(SHA256.hex(requests[0].context))),
                ("target_hash", .string(SHA256.hex(targetText))),
            ]
            for (m, v) in r.documentMetrics[d] { entry.append((m.rawValue, v)) }
            entry.append(("task", .string(r.task.name)))
            let truncated = r.tokenized[d].map(\.truncated)
            if truncated.contains(where: { $0 > 0 }) { entry.append(("truncated", .array(truncated.map(JSONValue.int)))) }
            return JSONValue.object(entry).pythonJSON
        }
    }
}
