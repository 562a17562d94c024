import MonolithKernels
import Foundation
import Testing
@testable import MonolithEval

/// Every kind of bad input is an error that names the file and line (or option) and says what
/// was expected; a prompt longer than the context is cut as lm-eval does and reported.
@Suite struct BadInputTests {
    /// The message of the error `body` throws.
    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func missingOrMalformedTaskFile() {
        let dir = EvalFixtures.scratch("bad-toml")
        #expect(message { try TaskFile.load(path: dir + "/none.toml", dataDirectory: nil) }.contains("\(dir)/none.toml: cannot read"))
        let broken = EvalFixtures.write("name = \"x\"\noutput = \n", "broken.toml", in: dir)
        #expect(message { try TaskFile.load(path: broken, dataDirectory: nil) }.hasPrefix("\(broken):2: invalid TOML"))
        let unknown = EvalFixtures.write("output = \"multiple_choice\"\n\nprompt = \"{q}\"\n", "unknown.toml", in: dir)
        #expect(message { try TaskFile.load(path: unknown, dataDirectory: nil) }.hasPrefix("\(unknown):3: prompt: unknown key"))
        let output = EvalFixtures.write("data = \"d.jsonl\"\noutput = \"ranking\"\n", "output.toml", in: dir)
        #expect(message { try TaskFile.load(path: output, dataDirectory: nil) }.contains("output.toml:2: output: expected one of loglikelihood"))
        let template = EvalFixtures.write("output = \"multiple_choice\"\ntext = \"{q\"\nchoices = \"c\"\ngold = 0\n", "template.toml", in: dir)
        #expect(message { try TaskFile.load(path: template, dataDirectory: nil) }.contains("template.toml:2: template \"{q\": '{' at character 1 is never closed"))
        let noData = EvalFixtures.write("output = \"multiple_choice\"\ntext = \"{q}\"\nchoices = \"c\"\ngold = 0\ndata = \"nowhere.jsonl\"\n", "nodata.toml", in: dir)
        #expect(message { try TaskFile.load(path: noData, dataDirectory: nil) }.contains("nodata.toml:5: data: no such file; tried: \(dir)/nowhere.jsonl"))
    }

    @Test func recordWithoutFieldsNamesLineAndField() {
        let dir = EvalFixtures.scratch("bad-record")
        EvalFixtures.write("""
            {"goal": "a", "sol1": "b", "sol2": "c", "label": 0}
            {"goal": "a", "sol1": "b", "sol2": "c", "label": 1}
            {"goal": "a", "sol1": "b", "label": 1}
            """, "piqa.jsonl", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["piqa"]) }
            == "\(dir)/piqa.jsonl:3: missing field \"sol2\" (the record has: goal, sol1, label)")
        EvalFixtures.write("{\"goal\": \"a\", \"sol1\": 3, \"sol2\": \"c\", \"label\": 0}\n", "piqa.jsonl", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["piqa"]) }
            == "\(dir)/piqa.jsonl:1: field \"sol1\": expected a string, got an integer 3")
        EvalFixtures.write("{\"question\": \"q\"}\n", "boolq.jsonl", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["boolq"]) }.hasPrefix("\(dir)/boolq.jsonl:1: no layout of task boolq fits this record"))
        EvalFixtures.write("{\"text\": \"ok\"}\n{\"text\": \"broken\n", "lambada_openai.jsonl", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["lambada_openai"]) }.hasPrefix("\(dir)/lambada_openai.jsonl:2: invalid JSON"))
    }

    @Test func goldIndexOutOfRange() {
        let dir = EvalFixtures.scratch("bad-gold")
        EvalFixtures.write("{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n",
                           "arc_easy.jsonl", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["arc_easy"]) }
            == "\(dir)/arc_easy.jsonl:2: field \"gold\": gold index 2 is out of range for 2 choices (expected 0...1)")
        EvalFixtures.write("{\"sentence\": \"A _ b.\", \"option1\": \"x\", \"option2\": \"y\", \"answer\": \"3\"}\n", "winogrande.jsonl", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["winogrande"]) }
            == "\(dir)/winogrande.jsonl:1: field \"answer\": expected \"1\" or \"2\", got \"3\"")
    }

    @Test func fewshotLargerThanPool() throws {
        let dir = EvalFixtures.scratch("bad-fewshot")
        EvalFixtures.write((0..<3).map { "{\"text\": \"word number \($0)\"}" }.joined(separator: "\n"), "lambada_openai.jsonl", in: dir)
        let task = try TaskCatalog(dataDirectory: dir).load(["lambada_openai"])[0]
        #expect(message { try RequestBuilder.build(task, numFewshot: 3, limit: nil, seed: 1234) }
            .hasPrefix("\(dir)/lambada_openai.jsonl: --num-fewshot 3 is larger than the pool: the file holds 3 documents"))
        #expect(try RequestBuilder.build(task, numFewshot: 2, limit: nil, seed: 1234).count == 3)
    }

    @Test func unknownTaskAndMissingFileListWhatIsKnown() {
        #expect(message { try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load(["piqa", "mmlu"]) }
            == "unknown task 'mmlu'; known tasks: lambada_openai, piqa, hellaswag, winogrande, boolq, arc_easy, arc_challenge (or a task file ending in .toml)")
        let dir = EvalFixtures.scratch("bad-missing")
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["hellaswag"]) }
            == "no data file for task hellaswag in \(dir); tried: hellaswag.jsonl, hellaswag.txt, hellaswag_val.sample.txt, hellaswag_val_full.txt")
    }

    @Test func malformedSideFiles() {
        let dir = EvalFixtures.scratch("bad-side")
        EvalFixtures.write("ctx\n1\na\nb\nc\nd\nctx2\n", "hellaswag.txt", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["hellaswag"]) }.hasPrefix("\(dir)/hellaswag.txt:7: expected 6 lines per task"))
        EvalFixtures.write("ctx\nfour\na\nb\nc\nd\n", "hellaswag.txt", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["hellaswag"]) }
            == "\(dir)/hellaswag.txt:2: expected the gold ending's index 0-3 (line 2 of a 6-line task), got \"four\"")
        EvalFixtures.write("{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"c\"}\n", "valid.jsonl", in: dir)
        EvalFixtures.write("0\n", "valid-labels.lst", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["piqa"]) }
            == "\(dir)/valid-labels.lst: holds 1 labels but \(dir)/valid.jsonl holds 2 records; expected one label per record")
        EvalFixtures.write("0\n2\n", "valid-labels.lst", in: dir)
        #expect(message { try TaskCatalog(dataDirectory: dir).load(["piqa"]) } == "\(dir)/valid-labels.lst:2: expected a label 0 or 1, got \"2\"")
    }

    @Test func longPromptsAreCutAndReportedLongContinuationsRefused() throws {
        let tasks = try TaskCatalog(dataDirectory: EvalFixtures.sharedData).load(["boolq"])
        let evaluator = Evaluator(model: GPTScorer(model: try EvalFixtures.model()), tokenizer: EvalFixtures.tokenizer, cache: nil)
        let result = try evaluator.run(tasks, options: EvalOptions(limit: 4))[0]
        #expect(result.truncatedRequests > 0)
        let logged = try SamplesWriter.lines(result).map { try JSONValue.parse($0, file: "samples") }
        #expect(logged.contains { $0["truncated"] != nil })
        for (d, group) in result.tokenized.enumerated() {
            for r in group { #expect(r.tokens.count <= 257, "doc \(d)") }
        }

        let dir = EvalFixtures.scratch("bad-long")
        let long = String(repeating: " ox", count: 300)
        EvalFixtures.write("{\"context\": \"Oxen:\", \"continuation\": \"\(long)\"}\n", "lambada_openai.jsonl", in: dir)
        let lm = try TaskCatalog(dataDirectory: dir).load(["lambada_openai"])
        #expect(message { try evaluator.run(lm, options: EvalOptions()) }
            .hasPrefix("\(dir)/lambada_openai.jsonl:1: the continuation \" ox ox"))
    }
}
