import MonolithKernels
/// lm-eval's printed results table (`lm_eval.utils.make_table`, a pytablewriter Markdown
/// table): one row per metric, tasks and metrics in alphabetical order, values and standard
/// errors with four decimals, `↑`/`↓` for higher/lower is better.
///
/// ```text
/// |    Tasks     |Version|Filter|n-shot|  Metric  |   | Value |   |Stderr|
/// |--------------|------:|------|-----:|----------|---|------:|---|-----:|
/// |piqa          |      1|none  |     0|acc       |↑  |0.6000|±  |0.0490|
/// ```
public enum ResultsTable {
    /// The table of `results`.
    public static func render(_ results: [TaskResult]) -> String {
        let headers = ["Tasks", "Version", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr"]
        // Columns pytablewriter right-aligns because every cell is a number (or empty).
        let rightAligned: Set<Int> = [1, 3, 6, 8]
        var rows: [[String]] = []
        for r in results.sorted(by: { $0.task.name < $1.task.name }) {
            var first = true
            for m in r.metrics.sorted(by: { $0.kind.rawValue < $1.kind.rawValue }) {
                rows.append([first ? r.task.name : "", first ? versionText(r.task.version) : "", "none", String(r.numFewshot),
                             m.kind.rawValue, m.kind == .perplexity ? "↓" : "↑", fixed4(m.value), "±",
                             m.stderr.map(fixed4) ?? "   N/A"])
                first = false
            }
        }
        let widths = headers.indices.map { c in max(3, headers[c].unicodeScalars.count, rows.map { $0[c].unicodeScalars.count }.max() ?? 0) }
        func pad(_ s: String, _ w: Int, right: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.unicodeScalars.count))
            return right ? fill + s : s + fill
        }
        func center(_ s: String, _ w: Int) -> String {
            let total = max(0, w - s.unicodeScalars.count), left = total / 2
            return String(repeating: " ", count: left) + s + String(repeating: " ", count: total - left)
        }
        var lines = ["|" + headers.indices.map { center(headers[$0], widths[$0]) }.joined(separator: "|") + "|"]
        lines.append("|" + headers.indices.map { c in
            rightAligned.contains(c) ? String(repeating: "-", count: widths[c] - 1) + ":" : String(repeating: "-", count: widths[c])
        }.joined(separator: "|") + "|")
        for row in rows {
            lines.append("|" + row.indices.map { pad(row[$0], widths[$0], right: rightAligned.contains($0)) }.joined(separator: "|") + "|")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `f"{v:.4f}"`.
    static func fixed4(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        return String(format: "%.4f", v)
    }

    /// A version as pytablewriter prints a float: `1.0` as `1`.
    static func versionText(_ v: JSONValue) -> String {
        switch v {
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: return String(Int(d))
        case .double(let d): return pythonFloatRepr(d)
        case .int(let i): return String(i)
        case .string(let s): return s
        default: return v.pythonJSON
        }
    }
}
