import Foundation
import MonolithModel
@testable import MonolithTraining
import Testing

/// The training job end to end on a small corpus: exact resume, checkpoint atomicity and the
/// files a run leaves behind.
@Suite("Training job", .serialized)
struct TrainingJobTests {
    static let corpus: String = {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/tinyshakespeare/input.txt")
        let text = try! String(contentsOf: shared, encoding: .utf8)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("monolith-corpus-\(UUID().uuidString).txt").path
        try! String(text.prefix(40_000)).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static func config(outDir: String, steps: Int, extra: [String] = []) throws -> JobConfig {
        try ConfigLoader.load(preset: "shakespeare-char", overrides: [
            "--data.paths", corpus, "--logging.out_dir", outDir, "--logging.progress", "none",
            "--model.n_layer", "2", "--model.n_embd", "32", "--model.n_head", "2", "--model.context_length", "16",
            "--model.dropout", "0.1", "--training.micro_batch", "4", "--training.global_batch", "8",
            "--training.max_steps", String(steps), "--schedule.warmup_steps", "2", "--schedule.decay_steps", "12",
            "--training.eval_interval", "4", "--training.eval_batches", "3", "--training.sample_tokens", "0",
            "--checkpoint.interval", "3", "--checkpoint.keep_last", "2",
        ] + extra)
    }

    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("monolith-run-\(UUID().uuidString)").path
    }

    @Test("a run stopped and resumed matches an uninterrupted run bit for bit", arguments: [3, 5])
    func exactResume(stopAt: Int) throws {
        let full = Self.tempDir(), split = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: full); try? FileManager.default.removeItem(atPath: split) }
        let a = try TrainingJob(config: Self.config(outDir: full, steps: 12)) { _ in }
        _ = try a.run()
        let b1 = try TrainingJob(config: Self.config(outDir: split, steps: stopAt)) { _ in }
        _ = try b1.run()
        let b2 = try TrainingJob(config: Self.config(outDir: split, steps: 12, extra: ["--checkpoint.resume", "latest"])) { _ in }
        _ = try b2.run()
        let identical = try a.wholeModel()!.parameters.toArray() == b2.wholeModel()!.parameters.toArray()
        #expect(identical, "final weights differ after resuming at step \(stopAt)")
        let la = MetricsLog.lossSeries(path: full + "/metrics.jsonl"), lb = MetricsLog.lossSeries(path: split + "/metrics.jsonl")
        #expect(la.train.map(\.1) == lb.train.map(\.1))
        // The stopped run also evaluated at its last step; compare the evaluations both runs made.
        let steps = Set(la.validation.map(\.0))
        #expect(la.validation.map(\.1) == lb.validation.filter { steps.contains($0.0) }.map(\.1))
        #expect(la.train.count == 12)
    }

    @Test("a run leaves a loadable checkpoint, metrics, TensorBoard events and a plot; old checkpoints are pruned")
    func outputs() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try TrainingJob(config: Self.config(outDir: dir, steps: 7)) { _ in }.run()
        #expect(CheckpointStore(root: dir + "/checkpoints").steps() == [6, 7])
        let model = try GPT.loadHuggingFace(directory: try #require(s.checkpoint))
        #expect(model.config.nLayer == 2)
        #expect(FileManager.default.fileExists(atPath: s.checkpoint! + "/char_tokenizer.json"))
        #expect(try String(contentsOfFile: try #require(s.plot), encoding: .utf8).contains("<svg"))
        let events = try FileManager.default.contentsOfDirectory(atPath: dir + "/tensorboard")
        #expect(events.contains { $0.hasPrefix("events.out.tfevents.") })
        #expect(s.validationLoss != nil)
    }

    @Test("a failing disk during a checkpoint write keeps the previous checkpoint loadable")
    func fullDisk() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); AtomicFile.faultInjector = nil }
        _ = try TrainingJob(config: Self.config(outDir: dir, steps: 3)) { _ in }.run()
        AtomicFile.faultInjector = { path in
            if path.hasPrefix(dir) && path.contains("optimizer.safetensors") {
                throw TrainingError("No space left on device (injected)")
            }
        }
        let job = try TrainingJob(config: Self.config(outDir: dir, steps: 6, extra: ["--checkpoint.resume", "latest"])) { _ in }
        #expect { try job.run() } throws: { "\($0)".contains("earlier checkpoints are intact") }
        AtomicFile.faultInjector = nil
        let store = CheckpointStore(root: dir + "/checkpoints")
        #expect(store.steps() == [3])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
        _ = try TrainingJob(config: Self.config(outDir: dir, steps: 3, extra: ["--checkpoint.resume", "latest"])) { _ in }
    }

    @Test("resuming with a different model shape is refused")
    func shapeMismatch() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try TrainingJob(config: Self.config(outDir: dir, steps: 3)) { _ in }.run()
        #expect {
            _ = try TrainingJob(config: Self.config(outDir: dir, steps: 6, extra: ["--checkpoint.resume", "latest", "--model.n_layer", "3"])) { _ in }
        } throws: { "\($0)".contains("differs from the configured one") }
    }

    @Test("a missing corpus names the path")
    func missingCorpus() throws {
        #expect {
            _ = try TrainingJob(config: Self.config(outDir: Self.tempDir(), steps: 3, extra: ["--data.paths", "/nonexistent/corpus.txt"])) { _ in }
        } throws: { "\($0)".contains("/nonexistent/corpus.txt") }
    }
}
