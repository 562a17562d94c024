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
        #expect(c.model.dropout == 0 && c.tokenizer.kind == .char && c.data.trainFraction == 0.9)
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

    /// Every closed-set field, a bad value, and the accepted ones in declaration order.
    static let badChoices: [(section: String, key: String, choices: String)] = [
        ("data", "format", DataFormat.choices), ("tokenizer", "kind", TokenizerKind.choices),
        ("logging", "progress", ProgressMode.choices), ("parallel", "recompute", RecomputeMode.choices),
    ]

    @Test("a value outside a closed set names the field and the choices, from a file", arguments: badChoices.indices)
    func badChoiceInFile(index: Int) throws {
        let (section, key, choices) = Self.badChoices[index]
        let path = try Self.write("[\(section)]\n\n\(key) = \"fast\"\n")
        let expected = "\(path):3: \(section).\(key): expected one of \(choices); got \"fast\""
        #expect { try ConfigLoader.load(file: path) } throws: { "\($0)" == expected }
    }

    @Test("a value outside a closed set names the field and the choices, from a flag", arguments: badChoices.indices)
    func badChoiceOverride(index: Int) throws {
        let (section, key, choices) = Self.badChoices[index]
        let expected = "\(section).\(key): expected one of \(choices); got \"fast\""
        #expect { try ConfigLoader.load(overrides: ["--\(section).\(key)", "fast"]) } throws: { "\($0)" == expected }
    }

    @Test("closed sets are parsed once, into enums")
    func choicesParse() throws {
        let c = try ConfigLoader.load(overrides: ["--parallel.recompute", "selective", "--logging.progress", "lines",
                                                  "--data.format", "megatron", "--tokenizer.kind", "gpt2"])
        #expect(c.parallel.recompute == .selective && c.logging.progress == .lines && c.data.format == .megatron && c.tokenizer.kind == .gpt2)
        #expect(RecomputeMode.choices == "none, selective, full")
        #expect(ParallelSection(recompute: .full).activationRecompute == .full(every: 1))
    }

    @Test("a tokenizer's files are named by tokenizer.path, not by kind")
    func tokenizerPath() throws {
        let path = try Self.write("[tokenizer]\nkind = \"files\"\npath = \"runs/tok\"\n")
        let c = try ConfigLoader.load(file: path)
        #expect(c.tokenizer.kind == .files && c.tokenizer.path == "runs/tok")
        // The old spelling, a path in `kind`, is refused with the choices.
        #expect { try ConfigLoader.load(overrides: ["--tokenizer.kind", "runs/tok"]) } throws: {
            "\($0)".contains("tokenizer.kind: expected one of char, gpt2, files, model; got \"runs/tok\"")
        }
        #expect { try ConfigLoader.load(overrides: ["--tokenizer.kind", "files"]) } throws: {
            "\($0)".contains("tokenizer.path") && "\($0)".contains("needs the directory")
        }
        let charWithPath = try Self.write("[tokenizer]\nkind = \"char\"\npath = \"runs/tok\"\n")
        #expect { try ConfigLoader.load(file: charWithPath) } throws: { "\($0)".contains("\(charWithPath):3: tokenizer.path: must be empty") }
        // The old key points at the new one.
        let old = try Self.write("[tokenizer]\nkind = \"gpt2\"\ndirectory = \"x\"\n")
        #expect { try ConfigLoader.load(file: old) } throws: { "\($0)".contains("\(old):3: unknown key 'directory' in [tokenizer]; renamed to tokenizer.path") }
    }

    @Test("grad_clip errors name optimizer.grad_clip, from the config and from the trainer")
    func gradClipNaming() throws {
        let path = try Self.write("[optimizer]\ngrad_clip = -1\n")
        #expect { try ConfigLoader.load(file: path) } throws: { "\($0)".contains("\(path):2: optimizer.grad_clip: must be ≥ 0") }
        let tiny = GPTConfig(nLayer: 1, nHead: 1, nEmbd: 8, vocabSize: 8, contextLength: 4)
        #expect { _ = try Trainer(config: tiny, microBatch: (1, 4), optimizer: AdamWConfig(),
                                  schedule: LRSchedule(lr: 1e-3, minLR: 0, warmupSteps: 0, decaySteps: 1),
                                  gradClip: -1, parallel: try .single(model: tiny)) } throws: { ($0 as? ConfigError)?.field == "optimizer.grad_clip" }
        #expect { _ = try LRSchedule(lr: 0, minLR: 0, warmupSteps: 0, decaySteps: 1).validate() } throws: {
            ($0 as? ConfigError)?.field == "optimizer.lr"
        }
    }

    @Test("printed TOML spells numbers as they were given")
    func floatPrinting() throws {
        let path = try Self.write("""
            [optimizer]
            lr = 6e-4
            beta1 = 0.9
            beta2 = 0.95
            eps = 1e-8
            weight_decay = 0.1

            [model]
            dropout = 0.2
            init_std = 0.02

            [schedule]
            min_lr = 6e-5

            [training]
            sample_temperature = 0.8
            """)
        let c = try ConfigLoader.load(file: path)
        let text = try ConfigLoader.toml(c)
        for line in ["lr = 0.0006", "beta1 = 0.9", "beta2 = 0.95", "eps = 1e-08", "weight_decay = 0.1", "dropout = 0.2",
                     "init_std = 0.02", "min_lr = 6e-05", "sample_temperature = 0.8", "train_fraction = 0.9", "grad_clip = 1.0"] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "missing '\(line)' in:\n\(text)")
        }
        #expect(!text.contains("99999") && !text.contains("00000"))
        // And it reads back to the same configuration.
        #expect(try ConfigLoader.load(file: Self.write(text)) == c)
    }

    @Test("the TOML writer quotes strings and writes lists")
    func writerStrings() throws {
        var c = JobConfig()
        c.data.paths = ["a \"b\".txt", "c\\d"]
        c.logging.outDir = "runs/tab\there"
        let text = try ConfigLoader.toml(c)
        #expect(text.contains(#"paths = ["a \"b\".txt", "c\\d"]"#))
        #expect(text.contains(#"out_dir = "runs/tab\there""#))
        #expect(try ConfigLoader.load(file: Self.write(text)) == c)
    }

    @Test("batch ramp-up follows Megatron's schedule")
    func rampup() {
        let s = ScheduleSection(warmupSteps: 0, decaySteps: 0, minLR: 0, batchRampup: [32, 32, 1000])
        #expect(s.globalBatch(final: 128, consumedSamples: 0) == 32)
        #expect(s.globalBatch(final: 128, consumedSamples: 334) == 64)
        #expect(s.globalBatch(final: 128, consumedSamples: 5000) == 128)
    }
}
