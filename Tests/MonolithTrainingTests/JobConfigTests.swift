import Foundation
import MonolithModel
@testable import MonolithTraining
import Testing

/// TOML job configs: defaults, presets, overrides, and errors that name the file, line or field.
@Suite("Job config")
struct JobConfigTests {
    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("job-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the shakespeare-char preset is nanoGPT's CPU configuration")
    func shakespearePreset() throws {
        let c = try ConfigLoader.load(preset: "shakespeare-char")
        #expect(c.model.nLayer == 4 && c.model.nHead == 4 && c.model.nEmbd == 128 && c.model.contextLength == 64)
        #expect(c.training.microBatch == 12 && c.training.maxSteps == 2000)
        #expect(c.optimizer.lr == 1e-3 && c.optimizer.beta2 == 0.99 && c.optimizer.weightDecay == 0.1 && c.optimizer.gradClip == 1)
        #expect(c.schedule.warmupSteps == 100 && c.schedule.decaySteps == 2000 && c.schedule.minLR == 1e-4)
        #expect(c.model.dropout == 0 && c.tokenizer.kind == "char" && c.data.trainFraction == 0.9)
    }

    @Test("file values and dotted overrides apply in order")
    func overrides() throws {
        let path = try Self.write("[optimizer]\nlr = 0.002\n\n[training]\nmax_steps = 10\n")
        let c = try ConfigLoader.load(preset: "shakespeare-char", file: path, overrides: ["--optimizer.lr", "3e-4", "--data.paths", "a.txt,b.txt"])
        #expect(c.optimizer.lr == 3e-4)
        #expect(c.training.maxSteps == 10)
        #expect(c.data.paths == ["a.txt", "b.txt"])
    }

    @Test("the resolved config round-trips through TOML", arguments: Presets.names)
    func roundTrip(preset: String) throws {
        let c = try ConfigLoader.load(preset: preset)
        let path = try Self.write(try ConfigLoader.toml(c))
        #expect(try ConfigLoader.load(file: path) == c)
    }

    static let badFiles: [(String, String)] = [
        ("[optimizer]\nlearning_rate = 1e-3\n", "2: unknown key 'learning_rate' in [optimizer]"),
        ("[optimiser]\nlr = 1e-3\n", "1: unknown section [optimiser]"),
        ("[optimizer]\nlr = \"fast\"\n", "2: [optimizer] lr must be a number, got a string"),
        ("[training]\n\nmax_steps = 0\n", "3: training.max_steps: must be positive"),
        ("[model]\nn_embd = 100\nn_head = 3\n", "n_embd"),
        ("[training]\nmax_steps = \n", "config"),
    ]

    @Test("bad files are rejected naming the file and line", arguments: badFiles.indices)
    func badFile(index: Int) throws {
        let (text, message) = Self.badFiles[index]
        let path = try Self.write(text)
        do {
            _ = try ConfigLoader.load(file: path)
            Issue.record("accepted a bad config: \(text)")
        } catch {
            let s = "\(error)"
            #expect(s.contains(message) || (message == "config" && s.contains(path)), "\(s)")
        }
    }

    @Test("bad overrides name the flag", arguments: [
        (["--optimizer.learning_rate", "1"], "unknown key 'learning_rate'"),
        (["--training.max_steps", "ten"], "expected an integer"),
        (["--nosuch.key", "1"], "unknown section"),
        (["--optimizer.lr"], "missing value"),
    ])
    func badOverride(args: [String], message: String) throws {
        #expect { try ConfigLoader.load(overrides: args) } throws: { "\($0)".contains(message) }
    }

    @Test("batch ramp-up follows Megatron's schedule")
    func rampup() {
        let s = ScheduleSection(warmupSteps: 0, decaySteps: 0, minLR: 0, batchRampup: [32, 32, 1000])
        #expect(s.globalBatch(final: 128, consumedSamples: 0) == 32)
        #expect(s.globalBatch(final: 128, consumedSamples: 334) == 64)
        #expect(s.globalBatch(final: 128, consumedSamples: 5000) == 128)
    }
}
