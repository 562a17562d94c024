import Foundation
import Testing
@testable import MonolithEval

/// User task files (TOML) cover the three shapes: a task file that restates a built-in task's
/// prompt builds exactly the built-in task's requests.
@Suite struct TaskFileTests {
    func requests(_ task: EvalTask, shots: Int, limit: Int = 12) throws -> [[LoglikelihoodRequest]] {
        try RequestBuilder.build(task, numFewshot: shots, limit: limit, seed: 1234).map(\.requests)
    }

    func builtin(_ name: String) throws -> EvalTask { try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load([name])[0] }

    @Test(arguments: [0, 5]) func multipleChoiceMatchesBuiltinBoolQ(shots: Int) throws {
        let dir = EvalFixtures.scratch("toml-boolq-\(shots)")
        let file = EvalFixtures.write("""
            name = "my_boolq"
            data = "\(EvalFixtures.sharedData)/boolq_dev_icl.sample.jsonl"
            output = "multiple_choice"
            text = "{query}\\nAnswer:"
            choices = "choices"
            gold = "gold"
            metrics = ["acc"]
            version = 2
            """, "my_boolq.toml", in: dir)
        let task = try TaskFile.load(path: file, dataDirectory: nil)
        #expect(task.name == "my_boolq" && task.metrics == [.acc] && task.version == .double(2))
        #expect(try requests(task, shots: shots) == requests(try builtin("boolq"), shots: shots))
    }

    @Test(arguments: [0, 5]) func partialScoringMatchesBuiltinWinoGrande(shots: Int) throws {
        let dir = EvalFixtures.scratch("toml-wino-\(shots)")
        EvalFixtures.write("""
            data = "winogrande_dev_icl.sample.jsonl"   # found in the data directory
            output = "partial"
            contexts = "context_options"
            continuation = "{continuation}"
            gold = "gold"
            """, "wino.toml", in: dir)
        let task = try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load([dir + "/wino.toml"])[0]
        #expect(task.name == "wino" && task.kind == .partial && task.metrics == [.acc])
        #expect(try requests(task, shots: shots) == requests(try builtin("winogrande"), shots: shots))
    }

    @Test(arguments: [0, 2]) func loglikelihoodMatchesBuiltinLayout(shots: Int) throws {
        let dir = EvalFixtures.scratch("toml-lm-\(shots)")
        let lines = ["{\"context\": \"The cat sat on the\", \"continuation\": \"mat\"}",
                     "{\"context\": \"Rain fell all\", \"continuation\": \"night\"}",
                     "{\"context\": \"She opened the\", \"continuation\": \"door\"}",
                     "{\"context\": \"Two plus two is\", \"continuation\": \"four\"}"]
        EvalFixtures.write(lines.joined(separator: "\n") + "\n", "lambada_openai.jsonl", in: dir)
        let file = EvalFixtures.write("""
            data = "lambada_openai.jsonl"
            output = "loglikelihood"
            text = "{context}"
            target = " {continuation}"
            """, "lm.toml", in: dir)
        let task = try TaskFile.load(path: file, dataDirectory: nil)
        let icl = try TaskCatalog(dataDirectory: dir).load(["lambada_openai"])[0]
        #expect(icl.layout == "llm-foundry-icl")
        #expect(task.metrics == [.perplexity, .acc])
        #expect(try requests(task, shots: shots, limit: 4) == requests(icl, shots: shots, limit: 4))
    }

    @Test func choiceTemplatesGoldLabelsAndNestedFields() throws {
        let dir = EvalFixtures.scratch("toml-labels")
        EvalFixtures.write("""
            {"q": "Which is a fruit?", "opts": {"a": "apple", "b": "brick"}, "answer": "A"}
            {"q": "Which is a metal?", "opts": {"a": "wood", "b": "iron"}, "answer": "B"}
            """, "data.jsonl", in: dir)
        let file = EvalFixtures.write("""
            data = "data.jsonl"
            output = "multiple_choice"
            text = "Q: {q} {{braces}}\\nA:"
            choices = ["{opts.a}", "{opts.b}"]
            gold = "answer"
            gold_labels = ["A", "B"]
            target_delimiter = "  "
            """, "t.toml", in: dir)
        let task = try TaskFile.load(path: file, dataDirectory: nil)
        let built = try RequestBuilder.build(task, numFewshot: 1, limit: nil, seed: 1234)
        #expect(task.documents.map(\.prompt) == [
            .choices(query: "Q: Which is a fruit? {braces}\nA:", choices: ["apple", "brick"], gold: 0),
            .choices(query: "Q: Which is a metal? {braces}\nA:", choices: ["wood", "iron"], gold: 1),
        ])
        // The only other document is the example, with the two-space delimiter.
        #expect(built[0].requests[0] == LoglikelihoodRequest(context: "Q: Which is a metal? {braces}\nA:  iron\n\nQ: Which is a fruit? {braces}\nA:",
                                                             continuation: "  apple"))
    }
}
