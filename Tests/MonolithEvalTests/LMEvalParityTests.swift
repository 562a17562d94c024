import MonolithKernels
import Foundation
import MonolithModel
import Testing
@testable import MonolithEval

/// Parity with lm-evaluation-harness on the shared samples: the fixtures are lm-eval 0.4's own
/// results (scripts/make_eval_fixtures.py: `hf` model, fp32, the committed task YAMLs) on the
/// committed eval model. For every task, zero- and 5-shot: identical prompts (contexts by
/// SHA-256, in full for the first documents) and continuations, log-likelihoods within 1e-4
/// relative, identical is_greedy, identical per-document metrics and correct counts, and the
/// aggregated metrics and standard errors lm-eval reports.
@Suite struct LMEvalParityTests {
    static let tasks = ["lambada_openai", "piqa", "hellaswag", "winogrande", "boolq", "arc_easy", "arc_challenge"]

    @Test(arguments: tasks, [0, 5])
    func sharedSampleEqualsLMEval(task: String, shots: Int) throws {
        let fixture = try EvalFixtures.json("lm_eval/\(task)_\(shots)shot.json")
        let loaded = try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load([task])
        try ParityCheck.run(fixture: fixture, tasks: loaded, shots: shots, limit: fixture["limit"]!.int)
    }

    /// Built-in task YAMLs of lm-eval on hand-written documents in the Hugging Face layouts.
    @Test(arguments: ["lambada_openai", "piqa", "hellaswag", "winogrande", "boolq", "arc_easy"], [0, 2])
    func huggingFaceLayoutsEqualLMEval(task: String, shots: Int) throws {
        let fixture = try EvalFixtures.json("hf_layouts/\(task)_\(shots)shot.json")
        let spec = BuiltinTasks.spec(task)!
        let loaded = try BuiltinTasks.load(spec, path: EvalFixtures.directory + "/hf_layouts/\(task).jsonl")
        #expect(loaded.layout == "hf")
        try ParityCheck.run(fixture: fixture, tasks: [loaded], shots: shots, limit: nil)
    }
}

/// One task's comparison with its lm-eval fixture.
enum ParityCheck {
    static func run(fixture: JSONValue, tasks: [EvalTask], shots: Int, limit: Int?) throws {
        let task = tasks[0]
        let scorer = GPTScorer(model: try EvalFixtures.model(), batchSize: 16)
        let evaluator = Evaluator(model: scorer, tokenizer: EvalFixtures.tokenizer, cache: nil)
        let result = try evaluator.run(tasks, options: EvalOptions(numFewshot: shots, limit: limit))[0]
        let documents = fixture["documents"]!.array!
        try #require(result.documents.count == documents.count)
        #expect(task.version == fixture["version"]!)
        let samples = try SamplesWriter.lines(result).map { try JSONValue.parse($0, file: "samples") }
        var worst = 0.0
        for (d, expected) in documents.enumerated() {
            let requests = result.documents[d].requests, scores = result.scores[d]
            let wanted = expected["requests"]!.array!
            try #require(requests.count == wanted.count, "\(task.name) doc \(d)")
            for (i, w) in wanted.enumerated() {
                #expect(SHA256.hex(requests[i].context) == w["context_sha256"]!.string!, "\(task.name) doc \(d) request \(i): context")
                if let full = w["context"]?.string { #expect(requests[i].context == full, "\(task.name) doc \(d) request \(i)") }
                #expect(requests[i].continuation == w["continuation"]!.string!, "\(task.name) doc \(d) request \(i): continuation")
                let ll = w["ll"]!.double!
                worst = max(worst, relative(scores[i].logLikelihood, ll))
                #expect(relative(scores[i].logLikelihood, ll) < 1e-4, "\(task.name) doc \(d) request \(i): \(scores[i].logLikelihood) vs \(ll)")
                #expect(scores[i].isGreedy == (w["is_greedy"]! == .bool(true)), "\(task.name) doc \(d) request \(i): is_greedy")
            }
            for (m, value) in result.documentMetrics[d] {
                let e = expected["metrics"]![m.rawValue]!
                if m == .perplexity { #expect(relative(value.double!, e.double!) < 1e-4) } else {
                    #expect(value == e && value.kindName == e.kindName, "\(task.name) doc \(d): \(m.rawValue) \(value.excerpt) vs \(e.excerpt)")
                }
            }
            for key in ["doc_hash", "prompt_hash", "target_hash"] {
                #expect(samples[d][key] == expected[key], "\(task.name) doc \(d): \(key)")
            }
        }
        let metrics = fixture["metrics"]!
        for m in result.metrics {
            let value = metrics[m.kind.rawValue]!.double!, stderr = metrics[m.kind.rawValue + "_stderr"]!
            if m.kind == .perplexity {
                #expect(relative(m.value, value) < 1e-4, "\(task.name) perplexity \(m.value) vs \(value)")
                #expect(relative(m.stderr!, stderr.double!) < 1e-4, "\(task.name) perplexity stderr \(m.stderr!) vs \(stderr)")
            } else {
                #expect(m.value == value, "\(task.name) \(m.kind.rawValue) \(m.value) vs \(value)")
                if let s = stderr.double { #expect(relative(m.stderr!, s) < 1e-12) } else { #expect(m.stderr == nil) }
            }
        }
        print("\(task.name) \(shots)-shot: \(documents.count) documents, worst log-likelihood difference \(worst) relative")
    }
}
