/// llama.cpp's HellaSwag text format (`perplexity --hellaswag`, klosax/hellaswag_text_data): six
/// lines per task — `activity_label: context`, the gold ending's index (0–3), and four endings.
///
/// ```text
/// Roof shingle removal: A man is sitting on a roof. he
/// 3
/// is using wrap to wrap a pair of skis.
/// …three more endings
/// ```
public enum LlamaCppHellaSwag {
    /// One task of the file: its first line, gold index and endings, with the line it starts on.
    public struct Item: Sendable {
        public let context: String, gold: Int, endings: [String], line: Int
    }

    /// Reads every task of `path`; a line count that is not a multiple of 6, or a gold line that
    /// is not 0–3, is an error naming the line.
    public static func read(_ path: String) throws -> [Item] {
        let lines = try JSONLFile.lines(path)
        guard !lines.isEmpty else { throw EvalError(file: path, "the file holds no tasks") }
        guard lines.count % 6 == 0 else {
            throw EvalError(file: path, line: lines.count,
                            "expected 6 lines per task (context, gold 0-3, four endings), but the file has \(lines.count) lines")
        }
        return try stride(from: 0, to: lines.count, by: 6).map { k in
            let goldText = PythonString.strip(lines[k + 1])
            guard let gold = Int(goldText), (0..<4).contains(gold) else {
                throw EvalError(file: path, line: k + 2, "expected the gold ending's index 0-3 (line 2 of a 6-line task), got \"\(goldText)\"")
            }
            return Item(context: lines[k], gold: gold, endings: Array(lines[(k + 2)..<(k + 6)]), line: k + 1)
        }
    }
}
