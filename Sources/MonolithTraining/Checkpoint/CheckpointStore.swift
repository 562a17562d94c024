import Foundation
import MonolithGGUF
import MonolithKernels
import MonolithModel
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoint directories under `root`, one per step (`step-00000200/`), each a Hugging Face model
/// directory plus `optimizer.safetensors` and `trainer_state.json`.
///
/// A checkpoint appears atomically: it is written into a hidden temporary directory, every file
/// is fsynced, and the directory is renamed into place. A crash or a full disk mid-write leaves the
/// previous checkpoints untouched, and a leftover temporary directory is never taken for a
/// checkpoint (only `step-N` directories holding `trainer_state.json` count).
public final class CheckpointStore {
    /// The directory holding the checkpoints.
    public let root: String

    /// A store in `root` (created on first save).
    public init(root: String) { self.root = root }

    static func name(_ step: Int) -> String { String(format: "step-%08d", step) }

    /// Path of the checkpoint for `step`.
    public func path(step: Int) -> String { root + "/" + Self.name(step) }

    /// Steps of complete checkpoints, ascending.
    public func steps() -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("step-"), let s = Int(n.dropFirst(5)),
                  FileManager.default.fileExists(atPath: root + "/" + n + "/trainer_state.json") else { return nil }
            return s
        }.sorted()
    }

    /// A GGUF copy of the model written into each checkpoint (`checkpoint.gguf`).
    public struct GGUFExport {
        /// Type of the matrices (vectors stay F32).
        public let type: GGMLType
        /// Extra metadata: the tokenizer's `tokenizer.ggml.*` keys.
        public let metadata: [(String, GGUFValue)]
    }

    /// Writes a checkpoint of `model`, `optimizer` and `state` at `state.step`; extra files (the
    /// tokenizer) are copied in. Returns its path.
    ///
    /// `moments` gives the full-length Adam moments when `optimizer` holds only a ZeRO shard of
    /// them (gathered by ``Trainer/gatheredMoments()``): checkpoints are always in the full layout.
    @discardableResult
    public func save(model: GPT, optimizer: AdamW, state: TrainerState, moments: (m: FloatBuffer, v: FloatBuffer)? = nil,
                     extraFiles: [String: Data] = [:], gguf: GGUFExport? = nil) throws -> String {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let final = path(step: state.step)
        let tmp = root + "/." + Self.name(state.step) + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: tmp)
        do {
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
            try model.saveHuggingFace(directory: tmp)
            if let gguf { try model.saveGGUF(path: tmp + "/model.gguf", type: gguf.type, extra: gguf.metadata) }
            precondition(moments != nil || optimizer.range == 0..<model.layout.count, "a sharded optimizer needs gathered moments")
            try Self.saveOptimizer(m: moments?.m ?? optimizer.m, v: moments?.v ?? optimizer.v, step: optimizer.stepCount,
                                   layout: model.layout, to: tmp + "/optimizer.safetensors")
            for (name, data) in extraFiles { try AtomicFile.write(data, to: tmp + "/" + name) }
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            // Written last: its presence is what marks a checkpoint complete.
            try AtomicFile.write(try enc.encode(state), to: tmp + "/trainer_state.json")
            AtomicFile.syncDirectory(tmp)
            if FileManager.default.fileExists(atPath: final) {
                let old = final + ".old-\(getpid())"
                try FileManager.default.moveItem(atPath: final, toPath: old)
                try FileManager.default.moveItem(atPath: tmp, toPath: final)
                try? FileManager.default.removeItem(atPath: old)
            } else {
                try FileManager.default.moveItem(atPath: tmp, toPath: final)
            }
            AtomicFile.syncDirectory(root)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw TrainingError("checkpoint \(final) was not written (\(error)); earlier checkpoints are intact")
        }
        return final
    }

    /// Deletes all but the newest `keep` checkpoints (0 keeps everything).
    public func prune(keep: Int) {
        guard keep > 0 else { return }
        for s in steps().dropLast(keep) { try? FileManager.default.removeItem(atPath: path(step: s)) }
    }

    /// Resolves `latest` or a step number to a checkpoint step.
    public func resolve(_ spec: String) throws -> Int {
        let all = steps()
        if spec == "latest" {
            guard let s = all.last else { throw TrainingError("--checkpoint.resume latest: no checkpoint in \(root)") }
            return s
        }
        guard let s = Int(spec), all.contains(s) else {
            throw TrainingError("--checkpoint.resume \(spec): no checkpoint for that step in \(root) (have: \(all.map(String.init).joined(separator: ", ")))")
        }
        return s
    }

    /// Reads checkpoint `step` one tensor at a time — `take(spec, weights, exp_avg, exp_avg_sq)` for
    /// every tensor of the full layout, in order — so a model-parallel rank can keep just its slices
    /// without ever holding the whole model. Checks that the checkpoint's model equals `config` and
    /// that its files agree; returns the trainer state.
    public func load(step: Int, config: GPTConfig, take: (TensorSpec, [Float], [Float], [Float]) throws -> Void) throws -> TrainerState {
        let dir = path(step: step)
        let saved = try HuggingFaceCheckpoint.readConfig(directory: dir)
        guard saved.sameArchitecture(as: config) else {
            throw TrainingError("\(dir): the checkpoint's model (n_layer \(saved.nLayer), n_head \(saved.nHead), n_embd \(saved.nEmbd), vocab \(saved.vocabSize), context \(saved.contextLength)) differs from the configured one (n_layer \(config.nLayer), n_head \(config.nHead), n_embd \(config.nEmbd), vocab \(config.vocabSize), context \(config.contextLength)); resume with the same [model] settings")
        }
        guard let data = FileManager.default.contents(atPath: dir + "/trainer_state.json") else {
            throw TrainingError("\(dir)/trainer_state.json: missing")
        }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw TrainingError("\(dir)/trainer_state.json: \(error)")
        }
        let modelFile = try SafeTensorsFile(path: dir + "/model.safetensors")
        let optFile = try SafeTensorsFile(path: dir + "/optimizer.safetensors")
        guard let stepsMeta = optFile.metadata["step"], Int(stepsMeta) == state.optimizerSteps else {
            throw TrainingError("\(optFile.path): optimizer step does not match trainer_state.json")
        }
        for spec in ParameterLayout(config: config).tensors {
            let entry = try modelFile.entry(spec.name)
            guard entry.shape == spec.shape else {
                throw TrainingError("\(modelFile.path): tensor '\(spec.name)' has shape \(entry.shape), the model expects \(spec.shape)")
            }
            let weights = try modelFile.floats(spec.name)
            var moments: [[Float]] = []
            for prefix in ["exp_avg.", "exp_avg_sq."] {
                let values = try optFile.floats(prefix + spec.name)
                guard values.count == spec.count else {
                    throw TrainingError("\(optFile.path): \(prefix + spec.name) has \(values.count) values, expected \(spec.count)")
                }
                moments.append(values)
            }
            try take(spec, weights, moments[0], moments[1])
        }
        return state
    }

    /// Adam moments under Hugging Face parameter names (`exp_avg.<name>`, `exp_avg_sq.<name>`), so a
    /// checkpoint does not depend on how parameters were laid out or sharded when it was written.
    static func saveOptimizer(m: FloatBuffer, v: FloatBuffer, step: Int, layout: ParameterLayout, to path: String) throws {
        var tensors: [SafeTensorsWriter.Tensor] = []
        for (prefix, buffer) in [("exp_avg.", m), ("exp_avg_sq.", v)] {
            for spec in layout.tensors {
                tensors.append(.init(name: prefix + spec.name, shape: spec.shape,
                                     values: UnsafeBufferPointer(buffer[spec.offset, spec.count])))
            }
        }
        try SafeTensorsWriter.write(tensors, metadata: ["step": String(step), "format": "monolith-adamw"], to: path)
    }
}
