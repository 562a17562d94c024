import MonolithKernels
import Foundation
import MonolithEval
import MonolithModel
import MonolithTestSupport
import MonolithTokenizer

/// Paths and shared objects of the evaluation tests.
enum EvalFixtures {
    /// `Tests/Fixtures/eval`.
    static let directory = TestFixtures.path("eval")
    /// The committed GPT-2 of the parity fixtures (scripts/make_eval_model.py).
    static let modelDirectory = TestFixtures.path("eval/model")
    /// `../shared/data/eval` beside the repository: the shared benchmark samples.
    static let sharedData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/eval").path

    /// The fixture JSON at `relative` under `Tests/Fixtures/eval`, parsed.
    static func json(_ relative: String) throws -> JSONValue {
        let path = directory + "/" + relative
        guard let data = FileManager.default.contents(atPath: path) else { throw EvalError(file: path, "missing fixture") }
        return try JSONValue.parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// The tokenizer of the model (thread-safe, shared by every test).
    static let tokenizer: any TextTokenizer = try! Tokenizer.load(path: modelDirectory)

    /// A fresh copy of the model: tests run in parallel, and a model's forward pass owns its
    /// workspace.
    static func model() throws -> GPT { try GPT.loadHuggingFace(directory: modelDirectory) }

    /// A scratch directory for a test's files.
    static func scratch(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "monolith-eval-tests-\(getpid())/\(name)"
        try? FileManager.default.removeItem(atPath: dir)
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `text` to `name` in `directory` and returns the path.
    @discardableResult
    static func write(_ text: String, _ name: String, in directory: String) -> String {
        let path = directory + "/" + name
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// `|a − b| / |b|`.
func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-300) }
