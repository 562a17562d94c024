import MonolithKernels
import Foundation
import Testing
@testable import MonolithEval

/// The printed table and the results file have lm-eval's layout.
@Suite struct OutputTests {
    static let tasks = ["lambada_openai", "piqa", "hellaswag", "winogrande", "boolq", "arc_easy", "arc_challenge"]

    /// Results carrying lm-eval's own aggregates (from the 0-shot fixtures), so the table can be
    /// compared character for character with lm-eval's `make_table` output.
    func fixtureResults() throws -> [TaskResult] {
        let loaded = try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load(Self.tasks)
        return try loaded.map { task in
            let metrics = try EvalFixtures.json("lm_eval/\(task.name)_0shot.json")["metrics"]!
            return TaskResult(task: task, numFewshot: 0, documents: [], tokenized: [], scores: [], documentMetrics: [],
                              metrics: task.metrics.map { m in
                                  TaskResult.Metric(kind: m, value: metrics[m.rawValue]!.double!, stderr: metrics[m.rawValue + "_stderr"]!.double)
                              }, truncatedRequests: 0, cachedRequests: 0)
        }
    }

    @Test func tableEqualsLMEvalsMakeTable() throws {
        let expected = try String(contentsOfFile: EvalFixtures.directory + "/lm_eval/table_0shot.md", encoding: .utf8)
        #expect(ResultsTable.render(try fixtureResults()) == expected)
    }

    @Test func resultsFileHasLMEvalsKeys() throws {
        let doc = ResultsJSON.document(try fixtureResults(), config: [("model", .string("monolith"))], fewshotSeed: 1234, seconds: 1)
        let round = try JSONValue.parse(doc.pythonJSON(indent: 2), file: "results.json")
        for key in ["results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config"] {
            #expect(round[key] != nil, "\(key)")
        }
        let piqa = round["results"]!["piqa"]!
        for key in ["alias", "acc,none", "acc_stderr,none", "acc_norm,none", "acc_norm_stderr,none"] { #expect(piqa[key] != nil, "\(key)") }
        #expect(round["results"]!["lambada_openai"]!["perplexity,none"] != nil)
        #expect(round["versions"]!["boolq"] == .double(2))
        #expect(round["n-shot"]!["piqa"] == .int(0))
        #expect(round["configs"]!["winogrande"]!["output_type"] == .string("multiple_choice"))
    }
}
