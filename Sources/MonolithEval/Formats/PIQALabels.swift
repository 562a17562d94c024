/// The official PIQA release's labels: `valid-labels.lst` beside `valid.jsonl`, one `0` or `1`
/// per line, in record order.
public enum PIQALabels {
    /// The labels file that goes with `jsonl`: the name's first `.`-part gains `-labels`, and the
    /// extension becomes `.lst` (`valid.jsonl` → `valid-labels.lst`,
    /// `piqa_valid.sample.jsonl` → `piqa_valid-labels.sample.lst`).
    public static func path(for jsonl: String) -> String {
        let slash = jsonl.lastIndex(of: "/").map { jsonl.index(after: $0) } ?? jsonl.startIndex
        let directory = String(jsonl[..<slash]), name = String(jsonl[slash...])
        var stem = name, rest = ""
        if let dot = name.firstIndex(of: ".") { stem = String(name[..<dot]); rest = String(name[dot...]) }
        if rest.hasSuffix(".jsonl") { rest = String(rest.dropLast(".jsonl".count)) + ".lst" } else { rest += ".lst" }
        return directory + stem + "-labels" + rest
    }

    /// The labels of `path`, checked to be 0 or 1 and to number `count`.
    public static func read(_ path: String, count: Int, recordsFile: String) throws -> [Int] {
        let lines = try JSONLFile.lines(path)
        var labels: [Int] = []
        for (k, raw) in lines.enumerated() {
            let text = PythonString.strip(raw)
            guard let v = Int(text), v == 0 || v == 1 else {
                throw EvalError(file: path, line: k + 1, "expected a label 0 or 1, got \"\(text)\"")
            }
            labels.append(v)
        }
        guard labels.count == count else {
            throw EvalError(file: path, "holds \(labels.count) labels but \(recordsFile) holds \(count) records; expected one label per record")
        }
        return labels
    }
}
