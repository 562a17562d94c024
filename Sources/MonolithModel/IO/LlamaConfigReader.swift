import Foundation

/// Reads and writes Hugging Face `LlamaConfig` (`config.json` with `model_type: "llama"`).
enum LlamaConfigReader {
    /// The configuration in `json` (from `path`), refusing what the Llama block does not implement.
    static func read(_ json: [String: Any], path: String) throws -> GPTConfig {
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            if let v = json[key] as? Int { return v }
            if let fallback { return fallback }
            throw ModelInputError("\(path): \(key) is missing or not an integer")
        }
        func double(_ key: String, _ fallback: Double) -> Double { (json[key] as? NSNumber)?.doubleValue ?? fallback }
        if let act = json["hidden_act"] as? String, act != "silu" {
            throw ModelInputError("\(path): hidden_act '\(act)' is not supported (Llama's SwiGLU uses \"silu\")")
        }
        for key in ["attention_bias", "mlp_bias"] where (json[key] as? Bool) == true {
            throw ModelInputError("\(path): \(key) = true is not supported (Monolith's Llama block has no biases)")
        }
        var theta = double("rope_theta", 10000)
        if let params = json["rope_parameters"] as? [String: Any] {
            if let type = params["rope_type"] as? String, type != "default" {
                throw ModelInputError("\(path): rope_parameters.rope_type '\(type)' is not supported (only \"default\")")
            }
            theta = (params["rope_theta"] as? NSNumber)?.doubleValue ?? theta
        }
        if let scaling = json["rope_scaling"], !(scaling is NSNull) {
            let type = (scaling as? [String: Any])?["rope_type"] as? String ?? (scaling as? [String: Any])?["type"] as? String
            if type != "default" { throw ModelInputError("\(path): rope_scaling \(type ?? "(set)") is not supported") }
        }
        let heads = try int("num_attention_heads"), hidden = try int("hidden_size")
        var config = GPTConfig.llama(nLayer: try int("num_hidden_layers"), nHead: heads, kvHeads: try int("num_key_value_heads", heads),
                                     nEmbd: hidden, intermediateSize: try int("intermediate_size"), vocabSize: try int("vocab_size"),
                                     contextLength: try int("max_position_embeddings", 2048),
                                     rmsNormEps: Float(double("rms_norm_eps", 1e-6)), ropeTheta: Float(theta),
                                     tieWordEmbeddings: json["tie_word_embeddings"] as? Bool ?? false)
        config.initStd = Float(double("initializer_range", 0.02))
        if let headDim = json["head_dim"] as? Int, headDim != hidden / max(heads, 1) {
            throw ModelInputError("\(path): head_dim \(headDim) differs from hidden_size / num_attention_heads (\(hidden / max(heads, 1))); not supported")
        }
        do { try config.validate() } catch { throw ModelInputError("\(path): \(error)") }
        return config
    }

    /// The `config.json` transformers writes for `LlamaForCausalLM` of this shape.
    static func json(_ c: GPTConfig, torchDtype: String, bos: Int?, eos: Int?) -> Data {
        var obj: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "hidden_size": c.nEmbd, "intermediate_size": c.intermediateSize, "num_attention_heads": c.nHead,
            "num_hidden_layers": c.nLayer, "num_key_value_heads": c.kvHeads, "head_dim": c.headDim,
            "max_position_embeddings": c.contextLength, "rms_norm_eps": Double(c.layerNormEpsilon),
            "rope_theta": Double(c.ropeTheta), "rope_scaling": NSNull(), "tie_word_embeddings": c.tieWordEmbeddings,
            "vocab_size": c.vocabSize, "attention_bias": false, "attention_dropout": 0.0, "mlp_bias": false,
            "initializer_range": Double(c.initStd), "use_cache": true, "torch_dtype": torchDtype, "pretraining_tp": 1,
        ]
        if let bos { obj["bos_token_id"] = bos }
        if let eos { obj["eos_token_id"] = eos }
        return try! JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    }
}

extension GPT {
    /// Loads a Llama model's weights from Hugging Face tensors (`q_proj`, `k_proj`, … in `[out, in]`
    /// layout), transposing and fusing them into Monolith's layout (``LlamaTensorMap``). A tied
    /// model ignores a stored `lm_head.weight`.
    func loadLlamaParameters(from source: some ParameterSource, prefix: String) throws {
        for spec in layout.tensors {
            for part in LlamaTensorMap.parts(of: spec, config: config) {
                let entry = try source.entry(prefix + part.name)
                guard entry.shape == part.shape else {
                    let hint = part.name == "model.embed_tokens.weight" ? ": the vocabulary does not match the config's vocab_size" : ""
                    throw SafeTensorsError(source.path, "tensor '\(part.name)' has shape \(entry.shape), the model expects \(part.shape)\(hint)")
                }
                let values = try source.floats(prefix + part.name)
                values.withUnsafeBufferPointer {
                    LlamaTensorMap.scatter($0.baseAddress!, part: part, into: parameters.base + spec.offset, spec: spec)
                }
            }
        }
    }
}
