import MonolithKernels
import Foundation
import TOMLKit

/// A user-defined task: a small TOML file that names a JSONL file and says how its records become
/// prompts, so tasks like ANLI, WiC, COPA or SciQ need no code.
///
/// ```toml
/// name = "sciq"                          # default: the file name without .toml
/// data = "sciq.jsonl"                    # beside this file, else in --data-dir
/// output = "multiple_choice"             # loglikelihood | multiple_choice | partial
/// text = "{support}\nQuestion: {question}\nAnswer:"
/// choices = ["{distractor1}", "{distractor2}", "{distractor3}", "{correct_answer}"]
/// gold = 3                               # an index, or a field name: gold = "label"
/// # gold_labels = ["A", "B", "C", "D"]   # when the gold field holds a label, not an index
/// # target_delimiter = " "               # defaults as lm-eval
/// # fewshot_delimiter = "\n\n"
/// metrics = ["acc", "acc_norm"]          # default: by output
/// # version = 1.0
/// ```
///
/// - `loglikelihood`: `text` is the context and `target` the continuation, which carries its own
///   leading space (as lm-eval's `doc_to_target` for LAMBADA: `target = " {answer}"`).
/// - `multiple_choice`: `text` is the query; `choices` a list field's name or a list of
///   templates; each choice is scored after `target_delimiter`.
/// - `partial`: `contexts` (a list field or templates) each followed by `target_delimiter` and
///   the shared `continuation` (WinoGrande's partial scoring).
///
/// Templates are ``PromptTemplate``s. Unknown keys, wrong types and missing fields are errors that
/// name the file and line.
public enum TaskFile {
    static let keys = ["name", "version", "data", "output", "text", "target", "choices", "contexts", "continuation", "gold",
                       "gold_labels", "target_delimiter", "fewshot_delimiter", "metrics"]

    /// Either a field that holds the list, or a list of templates.
    enum ListSource { case field(String), templates([PromptTemplate]) }
    /// Either a fixed index or a field holding an index or label.
    enum GoldSource { case index(Int), field(String) }

    /// Loads the task file at `path`, reading its data file.
    public static func load(path: String, dataDirectory: String?) throws -> EvalTask {
        guard let data = FileManager.default.contents(atPath: path) else { throw EvalError(file: path, "cannot read the task file") }
        guard let text = String(data: data, encoding: .utf8) else { throw EvalError(file: path, "not valid UTF-8") }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw EvalError(file: path, line: e.source.begin.line, "invalid TOML at column \(e.source.begin.column): \(e.description)")
        }
        func at(_ key: String) -> String { "\(path):\(line(of: key, in: text))" }
        func fail(_ key: String, _ message: String) -> EvalError { EvalError("\(at(key)): \(key): \(message)") }
        for key in table.keys where !keys.contains(key) {
            throw fail(key, "unknown key (known: \(keys.joined(separator: ", ")))")
        }
        func string(_ key: String) throws -> String? {
            guard let v = table[key] else { return nil }
            guard let s = v.string else { throw fail(key, "expected a string") }
            return s
        }
        func required(_ key: String) throws -> String {
            guard let s = try string(key) else { throw EvalError(file: path, "missing key '\(key)'") }
            return s
        }
        func template(_ key: String) throws -> PromptTemplate? { try string(key).map { try PromptTemplate($0, origin: at(key)) } }
        func requiredTemplate(_ key: String, for output: String) throws -> PromptTemplate {
            guard let t = try template(key) else { throw EvalError(file: path, "missing key '\(key)' (needed by output = \"\(output)\")") }
            return t
        }
        func list(_ key: String, for output: String) throws -> ListSource {
            guard let v = table[key] else { throw EvalError(file: path, "missing key '\(key)' (needed by output = \"\(output)\")") }
            if let field = v.string { return .field(field) }
            guard let array = v.array, !array.isEmpty else { throw fail(key, "expected a field name or a non-empty list of templates") }
            return .templates(try array.map { item in
                guard let s = item.string else { throw fail(key, "expected every element to be a template string") }
                return try PromptTemplate(s, origin: at(key))
            })
        }
        func gold(for output: String) throws -> GoldSource {
            guard let v = table["gold"] else { throw EvalError(file: path, "missing key 'gold' (needed by output = \"\(output)\")") }
            if let i = v.int { return .index(i) }
            if let s = v.string { return .field(s) }
            throw fail("gold", "expected an index or a field name")
        }

        let name = try string("name") ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let output = try required("output")
        let version: JSONValue = table["version"].map { v in v.int.map { .double(Double($0)) } ?? v.double.map { .double($0) } ?? .string(v.string ?? "1.0") } ?? .double(1.0)
        let targetDelimiter = try string("target_delimiter") ?? " ", fewshotDelimiter = try string("fewshot_delimiter") ?? "\n\n"
        var goldLabels: [String]? = nil
        if let v = table["gold_labels"] {
            guard let a = v.array else { throw fail("gold_labels", "expected a list of strings") }
            goldLabels = try a.map { item in
                guard let s = item.string else { throw fail("gold_labels", "expected a list of strings") }
                return s
            }
        }
        let kind: TaskKind
        switch output {
        case "loglikelihood": kind = .loglikelihood
        case "multiple_choice": kind = .multipleChoice
        case "partial", "multiple_input": kind = .partial
        default: throw fail("output", "expected one of loglikelihood, multiple_choice, partial; got \"\(output)\"")
        }
        var metrics: [MetricKind]
        switch kind {
        case .loglikelihood: metrics = [.perplexity, .acc]
        case .multipleChoice: metrics = [.acc, .accNorm]
        case .partial: metrics = [.acc]
        }
        if let v = table["metrics"] {
            guard let a = v.array else { throw fail("metrics", "expected a list such as [\"acc\", \"acc_norm\"]") }
            metrics = try a.map { item in
                guard let s = item.string, let m = MetricKind(rawValue: s) else {
                    throw fail("metrics", "unknown metric \(item.string.map { "\"\($0)\"" } ?? "value"); known: acc, acc_norm, perplexity")
                }
                guard (m == .perplexity) == false || kind == .loglikelihood, (m == .accNorm) == false || kind != .loglikelihood else {
                    throw fail("metrics", "\(m.rawValue) does not apply to output = \"\(output)\"")
                }
                return m
            }
        }

        // The prompt rules of this output type, checked before any record is read.
        let build: (RecordFields) throws -> DocumentPrompt
        switch kind {
        case .loglikelihood:
            let context = try requiredTemplate("text", for: output), target = try requiredTemplate("target", for: output)
            build = { r in .continuation(context: try context.render(r), target: try target.render(r)) }
        case .multipleChoice:
            let query = try requiredTemplate("text", for: output), choices = try list("choices", for: output)
            let goldSource = try gold(for: output)
            build = { r in
                let c = try render(choices, r, key: "choices")
                return .choices(query: try query.render(r), choices: c, gold: try goldIndex(goldSource, labels: goldLabels, choices: c, r))
            }
        case .partial:
            let contexts = try list("contexts", for: output), continuation = try requiredTemplate("continuation", for: output)
            let goldSource = try gold(for: output)
            build = { r in
                let c = try render(contexts, r, key: "contexts")
                return .partial(contexts: c, continuation: try continuation.render(r),
                                gold: try goldIndex(goldSource, labels: goldLabels, choices: c, r))
            }
        }

        let dataName = try required("data")
        let dataPath = try locate(dataName, taskFile: path, dataDirectory: dataDirectory, origin: at("data"))
        let records = try JSONLFile.read(dataPath)
        let documents = try records.map { entry in
            let r = RecordFields(entry.record, file: dataPath, line: entry.line)
            return EvalDocument(record: entry.record, line: entry.line, prompt: try build(r))
        }
        return EvalTask(name: name, version: version, kind: kind, metrics: metrics, targetDelimiter: targetDelimiter,
                        fewshotDelimiter: fewshotDelimiter, source: dataPath, layout: "task-file " + path, documents: documents)
    }

    /// The data file: relative to the task file's directory, else to the data directory.
    static func locate(_ name: String, taskFile: String, dataDirectory: String?, origin: String) throws -> String {
        let besideTask = ((taskFile as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        var tried = [name.hasPrefix("/") ? name : besideTask]
        if name.hasPrefix("/") { if FileManager.default.fileExists(atPath: name) { return name } } else {
            if FileManager.default.fileExists(atPath: besideTask) { return besideTask }
            if let dataDirectory {
                let inData = (dataDirectory as NSString).appendingPathComponent(name)
                tried.append(inData)
                if FileManager.default.fileExists(atPath: inData) { return inData }
            }
        }
        throw EvalError("\(origin): data: no such file; tried: \(tried.joined(separator: ", "))")
    }

    static func render(_ source: ListSource, _ r: RecordFields, key: String) throws -> [String] {
        switch source {
        case .field(let field): return try r.strings(field)
        case .templates(let templates): return try templates.map { try $0.render(r) }
        }
    }

    /// The gold index: a fixed one, or a field's index, digits, label (with `gold_labels`) or
    /// choice text; out of range is an error at the record.
    static func goldIndex(_ source: GoldSource, labels: [String]?, choices: [String], _ r: RecordFields) throws -> Int {
        let index: Int, name: String
        switch source {
        case .index(let i): index = i; name = "gold"
        case .field(let field):
            name = field
            let v = try r.value(field)
            if let labels {
                let label = v.string ?? v.int.map(String.init) ?? v.excerpt
                guard let k = labels.firstIndex(of: label) else {
                    throw r.error("field \"\(field)\": \(v.excerpt) is not one of gold_labels \(labels)")
                }
                index = k
            } else if let i = v.int {
                index = i
            } else if let s = v.string, let i = Int(s) {
                index = i
            } else if let s = v.string, let k = choices.firstIndex(of: s) {
                index = k
            } else {
                throw r.error("field \"\(field)\": expected a gold index or one of the choices, got \(v.excerpt)")
            }
        }
        guard (0..<choices.count).contains(index) else {
            throw r.error("field \"\(name)\": gold index \(index) is out of range for \(choices.count) choices (expected 0...\(choices.count - 1))")
        }
        return index
    }

    /// The 1-based line where top-level `key` is set (1 when not found).
    static func line(of key: String, in text: String) -> Int {
        for (k, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = raw.drop(while: { $0 == " " || $0 == "\t" })
            if t.hasPrefix(key), let rest = Optional(t.dropFirst(key.count).drop(while: { $0 == " " || $0 == "\t" })), rest.hasPrefix("=") {
                return k + 1
            }
        }
        return 1
    }
}
