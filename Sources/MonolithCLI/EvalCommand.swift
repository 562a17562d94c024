import MonolithKernels
import ArgumentParser
import Foundation
import MonolithTraining
import MonolithEval
import MonolithModel
import MonolithTokenizer

/// `monolith eval`: zero- and few-shot evaluation with lm-evaluation-harness's prompts, metrics
/// and output files (docs/eval.md).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on LAMBADA, PIQA, HellaSwag, WinoGrande, BoolQ, ARC (or task files) as lm-evaluation-harness does.",
        discussion: """
            Prints lm-eval's results table. Built-in tasks: \(BuiltinTasks.names.joined(separator: ", ")). A task name ending in \
            .toml is a user task file. Each built-in task reads one file from --data-dir, found by name (<task>.jsonl, or \
            the shared samples' names such as piqa_valid.sample.jsonl + piqa_valid-labels.sample.lst).
            """)

    @Option(help: "Model: a Hugging Face GPT-2 directory (a Monolith checkpoint), FILE.gguf, or a model NAME in the local Hugging Face cache.")
    var model: String
    @Option(help: "Tokenizer directory, when not in the model directory.") var tokenizer: String?
    @Option(help: "Comma-separated tasks (built-in names or task files ending in .toml).") var tasks: String
    @Option(help: "Few-shot examples per prompt, drawn from the same file without the document itself.") var numFewshot = 0
    @Option(help: "Evaluate only the first N documents of each task.") var limit: Int?
    @Option(help: "Directory holding the built-in tasks' data files.") var dataDir = "."
    @Option(help: "Requests decoded together (fewer when their keys and values would pass 2 GiB).") var batchSize = 64
    @Option(help: "Few-shot sampling seed (lm-eval's fewshot_random_seed).") var seed = 1234
    @Option(help: "Write lm-eval's results JSON to this file.") var json: String?
    @Option(help: "Write lm-eval's per-document samples (JSON lines) to this file.") var logSamples: String?
    @Option(help: "Bootstrap resamples for perplexity's standard error (lm-eval: 100000; 0: none).") var bootstrapIters = 100_000
    @Option(help: "Log-likelihood cache directory (default: ~/.cache/monolith/eval).") var cacheDir: String?
    @Flag(help: "Neither read nor write the log-likelihood cache.") var noCache = false
    @Flag(help: "No progress bar on standard error.") var noProgress = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        configureThreads(threads)
        guard numFewshot >= 0 else { throw ValidationError("--num-fewshot must be 0 or more, got \(numFewshot)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        guard bootstrapIters >= 0 else { throw ValidationError("--bootstrap-iters must be 0 or more") }
        let start = Date()
        do {
            let taskList = try TaskCatalog(dataDirectory: dataDir).load(tasks.split(separator: ",").map(String.init))
            let (gpt, tok) = try loadEvalModel(model, tokenizer: tokenizer)
            let scorer = GPTScorer(model: gpt, batchSize: batchSize)
            let cache = noCache ? nil : try LoglikelihoodCache(directory: cacheDir ?? defaultCacheDirectory(), fingerprint: scorer.fingerprint)
            let evaluator = Evaluator(model: scorer, tokenizer: tok, cache: cache, showProgress: !noProgress)
            let options = EvalOptions(numFewshot: numFewshot, limit: limit, fewshotSeed: seed, bootstrapIters: bootstrapIters)
            let results = try evaluator.run(taskList, options: options)
            let seconds = Date().timeIntervalSince(start)
            print("monolith (model=\(model)), limit: \(limit.map(String.init) ?? "None"), num_fewshot: \(numFewshot), batch_size: \(batchSize)")
            print(ResultsTable.render(results))
            for r in results where r.truncatedRequests > 0 {
                let total = r.tokenized.joined().count
                print("note: \(r.task.name): \(r.truncatedRequests) of \(total) requests exceed the model's context of \(scorer.maxLength) tokens and were cut from the left, as lm-eval does")
            }
            let docs = results.map(\.documents.count).reduce(0, +), cached = results.map(\.cachedRequests).reduce(0, +)
            FileHandle.standardError.write(Data(String(format: "%d documents in %.2f s (%.1f docs/s)%@\n", docs, seconds,
                                                       Double(docs) / max(seconds, 1e-9),
                                                       cached > 0 ? " — \(cached) requests from the cache \(cache!.path)" : "").utf8))
            if let json {
                let config: [(String, JSONValue)] = [
                    ("model", .string("monolith")), ("model_args", .string("model=\(model)")),
                    ("model_num_parameters", .int(gpt.parameterCount)), ("model_dtype", .string("float32")),
                    ("batch_size", .int(batchSize)), ("device", .string("cpu")),
                    ("limit", limit.map { .int($0) } ?? .null), ("bootstrap_iters", .int(bootstrapIters)),
                    ("fewshot_seed", .int(seed)), ("max_length", .int(scorer.maxLength)),
                ]
                let doc = ResultsJSON.document(results, config: config, fewshotSeed: seed, seconds: seconds)
                try write(doc.pythonJSON(indent: 2) + "\n", to: json, option: "--json")
            }
            if let logSamples {
                try write(results.flatMap(SamplesWriter.lines).map { $0 + "\n" }.joined(), to: logSamples, option: "--log-samples")
            }
        } catch let e as EvalError {
            throw ValidationError(e.description)
        }
    }

    func write(_ text: String, to path: String, option: String) throws {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ValidationError("\(option) \(path): cannot write the file (\(error.localizedDescription))")
        }
    }

    func defaultCacheDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/monolith/eval"
    }
}

/// Loads the model `--model` names, and its tokenizer: the one place `monolith eval` turns a
/// model argument into weights, so new formats plug in here.
///
/// - a directory: a Hugging Face GPT-2 directory (Monolith's checkpoints are ones);
/// - `FILE.gguf` or a registry name (`smollm2-135m-instruct`): as `monolith generate` loads it;
/// - otherwise a model name (`gpt2`, `org/name`) in the local Hugging Face cache
///   (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`); nothing is downloaded.
func loadEvalModel(_ spec: String, tokenizer: String?) throws -> (GPT, any TextTokenizer) {
    var isDirectory: ObjCBool = false
    // GGUF files and registry names (smollm2-135m-instruct) load as `monolith generate` loads them.
    if spec.hasSuffix(".gguf") || CachedAsset.models[spec.lowercased()] != nil {
        return try loadModelAndTokenizer(model: spec, tokenizer: tokenizer)
    }
    if FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw ValidationError("--model \(spec): expected a model directory or a .gguf file") }
        return try loadModelAndTokenizer(model: spec, tokenizer: tokenizer)
    }
    let env = ProcessInfo.processInfo.environment
    let hub = env["HF_HUB_CACHE"] ?? env["HF_HOME"].map { $0 + "/hub" } ?? (NSHomeDirectory() + "/.cache/huggingface/hub")
    let repo = hub + "/models--" + spec.replacingOccurrences(of: "/", with: "--")
    let snapshots = repo + "/snapshots"
    var snapshot: String? = nil
    if let ref = try? String(contentsOfFile: repo + "/refs/main", encoding: .utf8) {
        snapshot = snapshots + "/" + ref.trimmingCharacters(in: .whitespacesAndNewlines)
    } else if let first = (try? FileManager.default.contentsOfDirectory(atPath: snapshots))?.sorted().first {
        snapshot = snapshots + "/" + first
    }
    guard let snapshot, FileManager.default.fileExists(atPath: snapshot) else {
        throw ValidationError("--model \(spec): not a directory, a .gguf file, or a model in the Hugging Face cache (looked for \(repo))")
    }
    return try loadModelAndTokenizer(model: snapshot, tokenizer: tokenizer)
}
