import MonolithKernels
/// What a task asks of the model: lm-eval's `output_type`, with `multiple_choice` split by where
/// the choices go.
public enum TaskKind: String, Sendable {
    /// One continuation's log-likelihood and whether it is the greedy one (LAMBADA).
    case loglikelihood
    /// Choices as continuations of one context (PIQA, HellaSwag, BoolQ, ARC).
    case multipleChoice = "multiple_choice"
    /// Choices as contexts of one continuation: lm-eval's "multiple input", WinoGrande's partial
    /// scoring.
    case partial
}

/// The prompt of one document, after the task's `doc_to_text`/`doc_to_choice`/`doc_to_target`.
public enum DocumentPrompt: Equatable, Sendable {
    /// Score `target` (which carries its own leading space) after `context`.
    case continuation(context: String, target: String)
    /// Choose among `choices`, each scored after `query` and the target delimiter.
    case choices(query: String, choices: [String], gold: Int)
    /// Score `continuation` (after the target delimiter) after each of `contexts`.
    case partial(contexts: [String], continuation: String, gold: Int)

    /// The text a few-shot example shows before its answer (`doc_to_text`).
    var exampleQuestion: String {
        switch self {
        case .continuation(let context, _): return context
        case .choices(let query, _, _): return query
        case .partial(let contexts, _, let gold): return contexts[gold]
        }
    }

    /// The answer a few-shot example shows (`doc_to_target`, through the choices when an index).
    var exampleAnswer: String {
        switch self {
        case .continuation(_, let target): return target
        case .choices(_, let choices, let gold): return choices[gold]
        case .partial(_, let continuation, _): return continuation
        }
    }

    /// What lm-eval logs as the sample's `target`: the gold index for choices, the text otherwise.
    var loggedTarget: JSONValue {
        switch self {
        case .continuation(_, let target): return .string(target)
        case .choices(_, _, let gold): return .int(gold)
        case .partial(_, let continuation, _): return .string(continuation)
        }
    }
}

/// One evaluation document: the record as lm-eval sees it (after its `process_docs`), where it
/// came from, and its prompt.
public struct EvalDocument: Sendable {
    /// The record, logged as the sample's `doc` and compared (Python `==`) to leave a document
    /// out of its own few-shot examples.
    public let record: JSONValue
    /// 1-based line of the record in its file.
    public let line: Int
    /// The prompt built from the record.
    public let prompt: DocumentPrompt

    public init(record: JSONValue, line: Int, prompt: DocumentPrompt) {
        self.record = record; self.line = line; self.prompt = prompt
    }
}

/// A metric of lm-eval's that a task reports.
public enum MetricKind: String, Sendable, CaseIterable {
    /// Argmax of summed log-likelihood is the gold choice (multiple choice), or the continuation
    /// is greedy (LAMBADA). Mean over documents; analytic standard error.
    case acc
    /// Argmax of log-likelihood per character of the choice. Mean; analytic standard error.
    case accNorm = "acc_norm"
    /// `exp(−mean log-likelihood)` of the targets; bootstrap standard error.
    case perplexity
}

/// A task ready to run: its documents, its prompt rules and what it reports.
///
/// Built-in tasks come from ``BuiltinTasks``; user tasks from a TOML file (``TaskFile``).
public struct EvalTask: Sendable {
    /// The task's name (`piqa`, or a user task's).
    public let name: String
    /// lm-eval's `metadata.version` (`1.0` for most, `2.0` for BoolQ).
    public let version: JSONValue
    /// What is scored.
    public let kind: TaskKind
    /// Reported metrics, in lm-eval's order.
    public let metrics: [MetricKind]
    /// Between a question and its answer (`target_delimiter`, `" "`).
    public let targetDelimiter: String
    /// After each few-shot example (`fewshot_delimiter`, `"\n\n"`).
    public let fewshotDelimiter: String
    /// The file(s) the documents were read from, for messages.
    public let source: String
    /// How the documents were read (e.g. `hf`, `llm-foundry-icl`, `llama.cpp-hellaswag`).
    public let layout: String
    /// Every document of the file: the evaluation set and the few-shot pool.
    public let documents: [EvalDocument]

    public init(name: String, version: JSONValue, kind: TaskKind, metrics: [MetricKind], targetDelimiter: String = " ",
                fewshotDelimiter: String = "\n\n", source: String, layout: String, documents: [EvalDocument]) {
        self.name = name; self.version = version; self.kind = kind; self.metrics = metrics
        self.targetDelimiter = targetDelimiter; self.fewshotDelimiter = fewshotDelimiter
        self.source = source; self.layout = layout; self.documents = documents
    }

    /// The task's entry in the results' `configs`: lm-eval's task config fields that describe
    /// how it ran here.
    public func configJSON(numFewshot: Int, fewshotSeed: Int) -> JSONValue {
        let outputType: String = kind == .loglikelihood ? "loglikelihood" : "multiple_choice"
        return .object([
            ("task", .string(name)),
            ("dataset_path", .string(source)),
            ("dataset_layout", .string(layout)),
            ("output_type", .string(outputType)),
            ("target_delimiter", .string(targetDelimiter)),
            ("fewshot_delimiter", .string(fewshotDelimiter)),
            ("num_fewshot", .int(numFewshot)),
            ("fewshot_config", .object([("sampler", .string("default")), ("split", .string("same file, document excluded")),
                                        ("random_seed", .int(fewshotSeed))])),
            ("metric_list", .array(metrics.map { m in
                .object([("metric", .string(m.rawValue)), ("aggregation", .string(m == .perplexity ? "perplexity" : "mean")),
                         ("higher_is_better", .bool(m != .perplexity))])
            })),
            ("metadata", .object([("version", version)])),
        ])
    }
}
