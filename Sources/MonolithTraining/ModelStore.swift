import Foundation
import MonolithGGUF
import MonolithInference
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
    /// What decoding reads, as asked (``ModelWeights``).
    public let weights: DecodeSession.Weights
}

/// The weights inference reads (`--weights`).
public enum ModelWeights: String, CaseIterable, Sendable {
    /// A GGUF file's own quantized matrices with 8-bit activations, as llama.cpp runs them (the
    /// default for GGUF files); anything else in fp32.
    case native
    /// Everything dequantized to fp32 once: exact, and what training starts from.
    case fp32
    /// fp32 rounded to bf16, with bf16 copies read by decoding (half the memory traffic).
    case bf16

    /// Parses a `--weights` value; `nil` means the default for `path` (native for `.gguf`, fp32 otherwise).
    public static func parse(_ text: String?, for path: String) throws -> ModelWeights {
        guard let text else { return path.hasSuffix(".gguf") || CachedAsset.models[path.lowercased()] != nil ? .native : .fp32 }
        guard let w = ModelWeights(rawValue: text) else {
            throw TrainingError("--weights must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
        }
        return w
    }
}

/// Opens models by what a user names: a Hugging Face directory (GPT-2 or Llama), a `.gguf` file,
/// or a registry name (`smollm2-135m-instruct`, fetched once into the cache by `assets`).
public enum ModelStore {
    /// Loads `spec`; `tokenizer` overrides where a directory's tokenizer is read from. With
    /// `weights` ``ModelWeights/native`` (GGUF files only) the quantized matrices stay in the file
    /// and the fp32 model cannot train or run a full forward; decode through a ``DecodeSession``.
    public static func load(_ spec: String, tokenizer tokenizerPath: String? = nil, weights: ModelWeights = .fp32,
                            assets: any AssetSource, log: (String) -> Void = { _ in }) throws -> LoadedModel {
        var path = spec
        if let asset = CachedAsset.models[spec.lowercased()] {
            path = try assets.path(of: asset, log: log)
        } else if !FileManager.default.fileExists(atPath: spec) {
            throw TrainingError("\(spec): no such file or directory, and not a known model name (known: \(CachedAsset.models.keys.sorted().joined(separator: ", ")))")
        }
        if path.hasSuffix(".gguf") {
            let file = try GGUFFile(path: path)
            var model: GPT, decode = DecodeSession.Weights.fp32
            if weights == .native {
                let native: NativeWeights
                (model, native) = try GPT.loadGGUFNative(file: file)
                decode = .native(native)
            } else {
                model = try GPT.loadGGUF(file: file)
                if weights == .bf16 { model.roundWeightsToBF16(); decode = .bf16 }
            }
            let vocabulary = try GGUFVocabulary(file: file)
            let tokenizer: any TextTokenizer = try tokenizerPath.map { try Tokenizer.load(path: $0) }
                ?? BPETokenizer(gguf: vocabulary, vocabularySize: model.config.vocabSize)
            return LoadedModel(model: model, tokenizer: tokenizer, chatTemplate: vocabulary.chatTemplate, path: path, gguf: file,
                               weights: decode)
        }
        guard weights != .native else {
            throw TrainingError("\(path): --weights native runs a GGUF file's quantized tensors; this model has none (use fp32 or bf16)")
        }
        let model = try GPT.loadHuggingFace(directory: path)
        if weights == .bf16 { model.roundWeightsToBF16() }
        let tokenizer = try Tokenizer.load(path: tokenizerPath ?? path)
        if tokenizer.vocabularySize > model.config.vocabSize {
            throw TrainingError("\(tokenizerPath ?? path): the tokenizer has \(tokenizer.vocabularySize) tokens but \(path)/config.json has vocab_size \(model.config.vocabSize)")
        }
        return LoadedModel(model: model, tokenizer: tokenizer, chatTemplate: chatTemplate(directory: path), path: path, gguf: nil,
                           weights: weights == .bf16 ? .bf16 : .fp32)
    }

    /// `chat_template` of a Hugging Face directory's `tokenizer_config.json`.
    static func chatTemplate(directory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return json["chat_template"] as? String
    }
}
