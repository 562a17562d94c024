import Foundation
import MonolithModel
import MonolithTokenizer
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
        let job = try TrainingJob(config: Self.config(outDir: dir, steps: 7)) { _ in }
        let s = try job.run()
        #expect(CheckpointStore(root: dir + "/checkpoints").steps() == [6, 7])
        let checkpoint = try #require(s.checkpoint)
        // The checkpoint holds exactly the trained weights, its moments and state, and the run's tokenizer.
        let saved = try GPT.loadHuggingFace(directory: checkpoint)
        #expect(saved.parameters.toArray() == (try #require(try job.wholeModel())).parameters.toArray())
        let optimizer = try SafeTensorsFile(path: checkpoint + "/optimizer.safetensors")
        #expect(optimizer.metadata["step"] == "7")
        for spec in saved.layout.tensors {
            let m = try optimizer.floats("exp_avg." + spec.name), v = try optimizer.floats("exp_avg_sq." + spec.name)
            #expect(m.count == spec.count && v.count == spec.count && v.allSatisfy { $0 >= 0 }, "\(spec.name) moments")
        }
        #expect(saved.layout.tensors.contains { (try? optimizer.floats("exp_avg_sq." + $0.name).contains { $0 > 0 }) == true })
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: URL(fileURLWithPath: checkpoint + "/trainer_state.json")))
        #expect(state.step == 7 && state.optimizerSteps == 7)
        let tokenizer = try CharTokenizer.load(checkpoint + "/char_tokenizer.json")
        #expect(tokenizer.vocabularySize == saved.config.vocabSize)
        #expect(tokenizer.decode(tokenizer.encode("First Citizen:")) == "First Citizen:")
        // The plot draws every training step and marks every validation.
        let series = MetricsLog.lossSeries(path: dir + "/metrics.jsonl")
        #expect(series.train.map(\.0) == Array(1...7) && !series.validation.isEmpty)
        let svg = try String(contentsOfFile: try #require(s.plot), encoding: .utf8)
        let trainPath = try #require(svg.components(separatedBy: "<path d=\"").dropFirst().first?.components(separatedBy: "\"").first)
        #expect(trainPath.split(separator: " ").count == series.train.count, "train curve points: \(trainPath)")
        #expect(svg.components(separatedBy: "<circle").count - 1 == series.validation.count)
        // TensorBoard: the event file's train/loss scalars are the metrics' losses, step by step.
        let events = try FileManager.default.contentsOfDirectory(atPath: dir + "/tensorboard").filter { $0.hasPrefix("events.out.tfevents.") }
        #expect(events.count == 1)
        let scalars = try Self.tensorBoardScalars(dir + "/tensorboard/" + events[0], tag: "train/loss")
        #expect(scalars.map(\.step) == Array(1...7))
        for (got, want) in zip(scalars, series.train) { #expect(Double(got.value) == Double(Float(want.1)), "step \(got.step)") }
        #expect(s.validationLoss != nil)
    }

    /// The `(step, value)` scalars tagged `tag` in a TFRecord event file, checking every record's
    /// length and payload CRCs as TensorBoard's reader does.
    static func tensorBoardScalars(_ path: String, tag: String) throws -> [(step: Int, value: Float)] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var out: [(step: Int, value: Float)] = [], at = 0
        func le<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            data[offset..<(offset + MemoryLayout<T>.size)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        while at < data.count {
            let length = Int(le(UInt64.self, at))
            #expect(le(UInt32.self, at + 8) == TFRecord.maskedCRC32C(Data(data[at..<(at + 8)])))
            let payload = data[(at + 12)..<(at + 12 + length)]
            #expect(le(UInt32.self, at + 12 + length) == TFRecord.maskedCRC32C(Data(payload)))
            let event = try Tensorboard_Event(serializedBytes: Data(payload))
            for v in event.summary.value where v.tag == tag { out.append((Int(event.step), v.simpleValue)) }
            at += 16 + length
        }
        return out
    }

    @Test("trainer state files written before skipped_steps existed still load (as 0 skipped)")
    func legacyTrainerState() throws {
        var state = TrainerState()
        state.step = 12; state.optimizerSteps = 11; state.skippedSteps = 1; state.tokens = 4096
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(state)) as! [String: Any]
        #expect(try JSONDecoder().decode(TrainerState.self, from: JSONSerialization.data(withJSONObject: object)) == state)
        object["skipped_steps"] = nil
        var legacy = state
        legacy.skippedSteps = 0
        #expect(try JSONDecoder().decode(TrainerState.self, from: JSONSerialization.data(withJSONObject: object)) == legacy)
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
