import MonolithKernels
/// A record layout a built-in task reads, and how its records become prompts.
///
/// - Hugging Face datasets as lm-eval loads them: `lambada_openai {text}`, `piqa {goal, sol1,
///   sol2, label}`, `hellaswag {activity_label, ctx_a, ctx_b, endings, label}`, `winogrande
///   {sentence, option1, option2, answer}`, `boolq {passage, question, label}`, `arc {question,
///   choices{text,label}, answerKey}`;
/// - PIQA's official release (`valid.jsonl` without labels, plus `valid-labels.lst`);
/// - llama.cpp's six-line HellaSwag text;
/// - MosaicML llm-foundry's ICL JSONL (``ICLShape``).
public enum TaskLayout: Sendable, Equatable {
    case lambadaHF, piqaHF, piqaOfficial, hellaswagHF, hellaswagLlamaCpp, winograndeHF, boolqHF, arcHF
    case icl(ICLShape)

    /// llm-foundry's three in-context-learning shapes.
    public enum ICLShape: String, Sendable {
        /// `{context, continuation}`: the continuation's log-likelihood.
        case languageModeling = "{context, continuation}"
        /// `{query, choices, gold}`.
        case multipleChoice = "{query, choices, gold}"
        /// `{context_options, continuation, gold}`: partial scoring.
        case schema = "{context_options, continuation, gold}"
    }

    /// The layout's name in results and messages.
    public var name: String {
        switch self {
        case .lambadaHF, .piqaHF, .hellaswagHF, .winograndeHF, .boolqHF, .arcHF: return "hf"
        case .piqaOfficial: return "piqa-official"
        case .hellaswagLlamaCpp: return "llama.cpp-hellaswag"
        case .icl: return "llm-foundry-icl"
        }
    }

    /// The fields a record of this layout has (to recognise it and to explain a mismatch).
    public var fields: [String] {
        switch self {
        case .lambadaHF: return ["text"]
        case .piqaHF: return ["goal", "sol1", "sol2", "label"]
        case .piqaOfficial: return ["goal", "sol1", "sol2"]
        case .hellaswagHF: return ["activity_label", "ctx_a", "ctx_b", "endings", "label"]
        case .hellaswagLlamaCpp: return []
        case .winograndeHF: return ["sentence", "option1", "option2", "answer"]
        case .boolqHF: return ["passage", "question", "label"]
        case .arcHF: return ["question", "choices", "answerKey"]
        case .icl(.languageModeling): return ["context", "continuation"]
        case .icl(.multipleChoice): return ["query", "choices", "gold"]
        case .icl(.schema): return ["context_options", "continuation", "gold"]
        }
    }

    var description: String {
        self == .hellaswagLlamaCpp ? "llama.cpp 6-line text" : "\(name) {\(fields.joined(separator: ", "))}"
    }

    /// Reads `path` as task `task` in the first of `layouts` that fits (a `.txt` file is
    /// llama.cpp's HellaSwag format), and builds every document's prompt.
    static func read(path: String, task: String, layouts: [TaskLayout]) throws -> (TaskLayout, [EvalDocument]) {
        if path.hasSuffix(".txt") {
            guard layouts.contains(.hellaswagLlamaCpp) else {
                throw EvalError(file: path, "task \(task) reads JSONL (\(layouts.map(\.description).joined(separator: "; "))), not a .txt file")
            }
            return (.hellaswagLlamaCpp, try LlamaCppHellaSwag.read(path).map(hellaswagDocument))
        }
        let records = try JSONLFile.read(path)
        let first = RecordFields(records[0].record, file: path, line: records[0].line)
        guard let layout = layouts.first(where: { $0 != .hellaswagLlamaCpp && first.has($0.fields) }) else {
            let known = layouts.filter { $0 != .hellaswagLlamaCpp }.map(\.description).joined(separator: "; ")
            throw first.error("no layout of task \(task) fits this record: expected the fields of \(known); the record has: \(first.keyList)")
        }
        // PIQA's official records carry no label (the HF layout, tried first, has one).
        let labels = layout == .piqaOfficial ? try PIQALabels.read(PIQALabels.path(for: path), count: records.count, recordsFile: path) : nil
        let documents = try records.enumerated().map { k, entry in
            let r = RecordFields(entry.record, file: path, line: entry.line)
            return try layout.document(r, label: labels?[k])
        }
        return (layout, documents)
    }

    /// The document of one record.
    func document(_ r: RecordFields, label: Int?) throws -> EvalDocument {
        switch self {
        case .lambadaHF:
            let words = PythonString.split(try r.string("text"), on: " ")
            return EvalDocument(record: r.record, line: r.line, prompt: .continuation(
                context: words.dropLast().joined(separator: " "), target: " " + words.last!))
        case .piqaHF, .piqaOfficial:
            let goal = try r.string("goal"), choices = [try r.string("sol1"), try r.string("sol2")]
            var record = r.record, gold: Int
            if let label {
                gold = label
                if case .object(var m) = record { m.append(("label", .int(label))); record = .object(m) }
            } else {
                gold = try r.goldIndex("label", choices: 2)
            }
            return EvalDocument(record: record, line: r.line, prompt: .choices(query: "Question: \(goal)\nAnswer:", choices: choices, gold: gold))
        case .hellaswagHF:
            let query = HellaSwagText.query(activityLabel: try r.string("activity_label"), ctxA: try r.string("ctx_a"),
                                            ctxB: try r.string("ctx_b"))
            let choices = try r.strings("endings").map(HellaSwagText.preprocess)
            let gold = try r.goldIndex("label", choices: choices.count)
            return EvalDocument(record: Self.appending(r.record, query: query, choices: choices, gold: gold), line: r.line,
                                prompt: .choices(query: query, choices: choices, gold: gold))
        case .hellaswagLlamaCpp:
            preconditionFailure("llama.cpp HellaSwag is read by lines, not records")
        case .winograndeHF:
            let sentence = try r.string("sentence")
            let scalars = Array(sentence.unicodeScalars)
            guard let blank = scalars.firstIndex(of: "_") else {
                throw r.error("field \"sentence\": expected a blank \"_\" where the options go, got \(JSONValue.string(sentence).excerpt)")
            }
            let before = String(String.UnicodeScalarView(scalars[..<blank]))
            let after = PythonString.strip(String(String.UnicodeScalarView(scalars[(blank + 1)...])))
            let answer = try r.value("answer")
            guard let a = answer.string ?? answer.int.map(String.init), a == "1" || a == "2" else {
                throw r.error("field \"answer\": expected \"1\" or \"2\", got \(answer.excerpt)")
            }
            let options = [try r.string("option1"), try r.string("option2")]
            return EvalDocument(record: r.record, line: r.line, prompt: .partial(
                contexts: options.map { before + $0 }, continuation: after, gold: a == "1" ? 0 : 1))
        case .boolqHF:
            let text = "\(try r.string("passage"))\nQuestion: \(try r.string("question"))?\nAnswer:"
            return EvalDocument(record: r.record, line: r.line,
                                prompt: .choices(query: text, choices: ["no", "yes"], gold: try r.goldIndex("label", choices: 2)))
        case .arcHF:
            let question = try r.string("question")
            let texts = try r.strings("choices.text"), labels = try r.strings("choices.label")
            guard texts.count == labels.count else {
                throw r.error("field \"choices\": \(texts.count) texts but \(labels.count) labels")
            }
            let key = try r.string("answerKey")
            guard let gold = labels.firstIndex(of: key) else {
                throw r.error("field \"answerKey\": \"\(key)\" is not one of the choice labels \(labels)")
            }
            return EvalDocument(record: r.record, line: r.line,
                                prompt: .choices(query: "Question: \(question)\nAnswer:", choices: texts, gold: gold))
        case .icl(.languageModeling):
            let context = try r.string("context"), continuation = try r.string("continuation")
            // llm-foundry keeps the separating space out of some files' continuations: put it back
            // when neither side has whitespace at the join.
            let needsSpace = !(continuation.unicodeScalars.first.map(PythonString.isSpace) ?? true)
                && !(context.unicodeScalars.last.map(PythonString.isSpace) ?? true)
            return EvalDocument(record: r.record, line: r.line,
                                prompt: .continuation(context: context, target: (needsSpace ? " " : "") + continuation))
        case .icl(.multipleChoice):
            let choices = try r.strings("choices")
            let gold = try r.goldIndex("gold", choices: choices.count)
            return EvalDocument(record: r.record, line: r.line,
                                prompt: .choices(query: "\(try r.string("query"))\nAnswer:", choices: choices, gold: gold))
        case .icl(.schema):
            let contexts = try r.strings("context_options")
            let gold = try r.goldIndex("gold", choices: contexts.count)
            return EvalDocument(record: r.record, line: r.line,
                                prompt: .partial(contexts: contexts, continuation: try r.string("continuation"), gold: gold))
        }
    }

    /// A llama.cpp HellaSwag item as lm-eval sees the JSONL that `scripts/make_eval_fixtures.py`
    /// converts it to: `{ctx, label, endings}`, plus `process_docs`' `query`, `choices`, `gold`.
    static func hellaswagDocument(_ item: LlamaCppHellaSwag.Item) -> EvalDocument {
        let query = HellaSwagText.preprocess(item.context)
        let choices = item.endings.map(HellaSwagText.preprocess)
        let raw: JSONValue = .object([("ctx", .string(item.context)), ("label", .int(item.gold)),
                                      ("endings", .array(item.endings.map(JSONValue.string)))])
        return EvalDocument(record: appending(raw, query: query, choices: choices, gold: item.gold), line: item.line,
                            prompt: .choices(query: query, choices: choices, gold: item.gold))
    }

    /// The record with lm-eval's processed HellaSwag fields added, as its `process_docs` map does.
    static func appending(_ record: JSONValue, query: String, choices: [String], gold: Int) -> JSONValue {
        guard case .object(var m) = record else { return record }
        for (key, value) in [("query", JSONValue.string(query)), ("choices", .array(choices.map(JSONValue.string))), ("gold", .int(gold))] {
            if let k = m.firstIndex(where: { $0.key == key }) { m[k].value = value } else { m.append((key, value)) }
        }
        return .object(m)
    }
}
