import Foundation
import MonolithGGUF
import MonolithModel
import MonolithTokenizer

/// A model with the tokenizer and chat template that came with it.
public struct LoadedModel {
    /// The weights, in fp32.
    public let model: GPT
    /// The tokenizer beside it (directory) or in its metadata (GGUF).
    public let tokenizer: any TextTokenizer
    /// The Jinja chat template the model ships, if any.
    public let chatTemplate: String?
    /// The file or directory it was read from.
    public let path: String
    /// The GGUF file, when it came from one (its quantized tensors serve the native path).
    public let gguf: GGUFFile?
}

/// Opens models by what a user names: a Hugging Face directory (GPT-2 or Llama), a `.gguf` file,
/// or a registry name (`smollm2-135m-instruct`, fetched once into the cache by `assets`).
public enum ModelStore {
    /// Loads `spec`; `tokenizer` overrides where a directory's tokenizer is read from.
    public static func load(_ spec: String, tokenizer tokenizerPath: String? = nil, assets: any AssetSource,
                            log: (String) -> Void = { _ in }) throws -> LoadedModel {
        var path = spec
        if let asset = CachedAsset.models[spec.lowercased()] {
            path = try assets.path(of: asset, log: log)
        } else if !FileManager.default.fileExists(atPath: spec) {
            throw TrainingError("\(spec): no such file or directory, and not a known model name (known: \(CachedAsset.models.keys.sorted().joined(separator: ", ")))")
        }
        if path.hasSuffix(".gguf") {
            let file = try GGUFFile(path: path)
            let model = try GPT.loadGGUF(file: file)
            let vocabulary = try GGUFVocabulary(file: file)
            let tokenizer: any TextTokenizer = try tokenizerPath.map { try Tokenizer.load(path: $0) }
                ?? BPETokenizer(gguf: vocabulary, vocabularySize: model.config.vocabSize)
            return LoadedModel(model: model, tokenizer: tokenizer, chatTemplate: vocabulary.chatTemplate, path: path, gguf: file)
        }
        let model = try GPT.loadHuggingFace(directory: path)
        let tokenizer = try Tokenizer.load(path: tokenizerPath ?? path)
        if tokenizer.vocabularySize > model.config.vocabSize {
            throw TrainingError("\(tokenizerPath ?? path): the tokenizer has \(tokenizer.vocabularySize) tokens but \(path)/config.json has vocab_size \(model.config.vocabSize)")
        }
        return LoadedModel(model: model, tokenizer: tokenizer, chatTemplate: chatTemplate(directory: path), path: path, gguf: nil)
    }

    /// `chat_template` of a Hugging Face directory's `tokenizer_config.json`.
    static func chatTemplate(directory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return json["chat_template"] as? String
    }
}
