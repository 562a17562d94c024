import MonolithKernels
/// The tasks Monolith knows by name, with lm-eval's prompts (its task YAMLs and utils, v0.4.x),
/// versions and metrics, and the record layouts each one reads.
///
/// | task | prompt | choices | gold |
/// |---|---|---|---|
/// | `lambada_openai` | all but the last `" "`-separated word | — (target `" " + last word`) | greedy |
/// | `piqa` | `Question: {goal}\nAnswer:` | `sol1`, `sol2` | `label` |
/// | `hellaswag` | `preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())` | `preprocess(ending)` | `label` |
/// | `winogrande` | partial: `sentence` up to `_`, with each option | rest of the sentence | `answer` (1/2) |
/// | `boolq` | `{passage}\nQuestion: {question}?\nAnswer:` | `no`, `yes` | `label` |
/// | `arc_easy`, `arc_challenge` | `Question: {question}\nAnswer:` | `choices.text` | `answerKey` in `choices.label` |
///
/// Other layouts (see ``TaskLayout``) map onto the same prompts; the llm-foundry multiple-choice
/// layout's `query` is prompted as `{query}\nAnswer:` (HellaSwag: `preprocess(query)`).
public enum BuiltinTasks {
    /// A built-in task's fixed properties.
    public struct Spec: Sendable {
        public let name: String
        public let version: JSONValue
        public let kind: TaskKind
        public let metrics: [MetricKind]
        /// Layouts the task reads, tried in this order on the first record.
        public let layouts: [TaskLayout]
        /// File names looked for in a data directory, in order.
        public let fileNames: [String]
    }

    /// Every built-in task, in the order of the table.
    public static let all: [Spec] = [
        Spec(name: "lambada_openai", version: .double(1.0), kind: .loglikelihood, metrics: [.perplexity, .acc],
             layouts: [.lambadaHF, .icl(.languageModeling)],
             fileNames: ["lambada_openai.jsonl", "lambada_openai.sample.jsonl", "lambada_test.jsonl"]),
        Spec(name: "piqa", version: .double(1.0), kind: .multipleChoice, metrics: [.acc, .accNorm],
             layouts: [.piqaHF, .piqaOfficial, .icl(.multipleChoice)],
             fileNames: ["piqa.jsonl", "piqa_valid.sample.jsonl", "valid.jsonl"]),
        Spec(name: "hellaswag", version: .double(1.0), kind: .multipleChoice, metrics: [.acc, .accNorm],
             layouts: [.hellaswagHF, .hellaswagLlamaCpp, .icl(.multipleChoice)],
             fileNames: ["hellaswag.jsonl", "hellaswag.txt", "hellaswag_val.sample.txt", "hellaswag_val_full.txt"]),
        Spec(name: "winogrande", version: .double(1.0), kind: .partial, metrics: [.acc],
             layouts: [.winograndeHF, .icl(.schema)],
             fileNames: ["winogrande.jsonl", "winogrande_dev_icl.sample.jsonl", "winogrande_dev_icl.jsonl"]),
        Spec(name: "boolq", version: .double(2.0), kind: .multipleChoice, metrics: [.acc],
             layouts: [.boolqHF, .icl(.multipleChoice)],
             fileNames: ["boolq.jsonl", "boolq_dev_icl.sample.jsonl", "boolq_dev_icl.jsonl"]),
        Spec(name: "arc_easy", version: .double(1.0), kind: .multipleChoice, metrics: [.acc, .accNorm],
             layouts: [.arcHF, .icl(.multipleChoice)],
             fileNames: ["arc_easy.jsonl", "arc_easy_test_icl.sample.jsonl", "arc_easy_test_icl.jsonl"]),
        Spec(name: "arc_challenge", version: .double(1.0), kind: .multipleChoice, metrics: [.acc, .accNorm],
             layouts: [.arcHF, .icl(.multipleChoice)],
             fileNames: ["arc_challenge.jsonl", "arc_challenge_test_icl.sample.jsonl", "arc_challenge_test_icl.jsonl"]),
    ]

    /// The built-in task `name`, if there is one.
    public static func spec(_ name: String) -> Spec? { all.first { $0.name == name } }

    /// The names of the built-in tasks.
    public static var names: [String] { all.map(\.name) }

    /// Loads task `spec` from `path` (its layout found from the first record).
    public static func load(_ spec: Spec, path: String) throws -> EvalTask {
        let (layout, documents) = try TaskLayout.read(path: path, task: spec.name, layouts: spec.layouts)
        return EvalTask(name: spec.name, version: spec.version, kind: spec.kind, metrics: spec.metrics, source: path,
                        layout: layout.name, documents: documents)
    }
}
