import MonolithKernels
import Foundation

/// lm-eval's results file (`--output_path`'s `results_*.json`): `results.<task>` with
/// `"acc,none"`, `"acc_stderr,none"`, `"acc_norm,none"`, `"perplexity,none"` (`"N/A"` for a
/// standard error it cannot compute), plus `group_subtasks`, `configs`, `versions`, `n-shot`,
/// `higher_is_better`, `n-samples` and the run's `config`. Monolith adds `monolith`: requests
/// truncated to the context and requests served from the cache, per task.
public enum ResultsJSON {
    /// The results document of `results`; `config` describes the run (model, batch size, …).
    public static func document(_ results: [TaskResult], config: [(String, JSONValue)], fewshotSeed: Int,
                                seconds: Double) -> JSONValue {
        let sorted = results.sorted { $0.task.name < $1.task.name }
        func perTask(_ f: (TaskResult) -> JSONValue) -> JSONValue { .object(sorted.map { ($0.task.name, f($0)) }) }
        return .object([
            ("results", perTask { r in
                var entry: [(key: String, value: JSONValue)] = [("name", .string(r.task.name)), ("alias", .string(r.task.name)),
                                                                ("sample_len", .int(r.documents.count))]
                for m in r.metrics {
                    entry.append(("\(m.kind.rawValue),none", .double(m.value)))
                    entry.append(("\(m.kind.rawValue)_stderr,none", m.stderr.map(JSONValue.double) ?? .string("N/A")))
                }
                return .object(entry)
            }),
            ("group_subtasks", perTask { _ in .array([]) }),
            ("configs", perTask { $0.task.configJSON(numFewshot: $0.numFewshot, fewshotSeed: fewshotSeed) }),
            ("versions", perTask { $0.task.version }),
            ("n-shot", perTask { .int($0.numFewshot) }),
            ("higher_is_better", perTask { r in .object(r.task.metrics.map { ($0.rawValue, .bool($0 != .perplexity)) }) }),
            ("n-samples", perTask { r in .object([("original", .int(r.task.documents.count)), ("effective", .int(r.documents.count))]) }),
            ("config", .object(config)),
            ("date", .double(Date().timeIntervalSince1970)),
            ("total_evaluation_time_seconds", .string(String(seconds))),
            ("monolith", .object([
                ("truncated_requests", perTask { .int($0.truncatedRequests) }),
                ("cached_requests", perTask { .int($0.cachedRequests) }),
                ("data_layouts", perTask { .string($0.task.layout) }),
            ])),
        ])
    }
}
