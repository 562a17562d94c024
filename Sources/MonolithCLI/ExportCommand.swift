import ArgumentParser
import Foundation
import MonolithGGUF
import MonolithModel
import MonolithTokenizer
import MonolithTraining

/// `monolith export`: writes a model in another format, for the ecosystem: a GGUF file llama.cpp
/// runs (with the tokenizer's metadata), or a Hugging Face directory transformers loads.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a model as GGUF (llama.cpp) or as a Hugging Face directory (transformers).")

    @Option(help: "A Hugging Face directory, a .gguf file, or a registry name.") var model: String
    @Option(help: "Tokenizer directory, when not in the model directory.") var tokenizer: String?
    @Option(help: "Output: a .gguf file, or a directory for --format hf.") var output: String
    @Option(help: "gguf or hf.") var format = "gguf"
    @Option(help: "GGUF matrix type (f32, f16, bf16, q8_0) or Hugging Face dtype (f32, f16, bf16).") var type = "f16"

    func run() throws {
        let loaded = try loadModel(model, tokenizer: tokenizer)
        switch format {
        case "gguf":
            let types: [String: GGMLType] = ["f32": .f32, "f16": .f16, "bf16": .bf16, "q8_0": .q8_0]
            guard let ggml = types[type] else { throw ValidationError("--type must be one of f32, f16, bf16, q8_0 for GGUF, got '\(type)'") }
            guard let bpe = loaded.tokenizer as? BPETokenizer else {
                throw ValidationError("\(model): a GGUF file needs a BPE tokenizer (llama.cpp has no character-level vocabulary)")
            }
            let vocabulary = try bpe.ggufVocabulary(chatTemplate: loaded.chatTemplate)
            try loaded.model.saveGGUF(path: output, type: ggml, name: (model as NSString).lastPathComponent, extra: vocabulary.metadata)
        case "hf":
            let dtypes: [String: SafeTensorsDType] = ["f32": .f32, "f16": .f16, "bf16": .bf16]
            guard let dtype = dtypes[type] else { throw ValidationError("--type must be one of f32, f16, bf16 for hf, got '\(type)'") }
            try loaded.model.saveHuggingFace(directory: output, dtype: dtype)
            if let bpe = loaded.tokenizer as? BPETokenizer {
                try bpe.writeHuggingFace(to: output, modelMaxLength: loaded.model.config.contextLength, chatTemplate: loaded.chatTemplate)
            }
        default:
            throw ValidationError("--format must be gguf or hf, got '\(format)'")
        }
        print("wrote \(output) (\(loaded.model.config.architecture), \(loaded.model.parameterCount) parameters, \(type))")
    }
}
