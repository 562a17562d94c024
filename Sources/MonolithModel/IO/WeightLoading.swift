import MonolithKernels

/// Somewhere parameters can be read from by Hugging Face name.
public protocol ParameterSource {
    /// For error messages.
    var path: String { get }
    /// Header of tensor `name`.
    func entry(_ name: String) throws -> SafeTensorsFile.Entry
    /// Tensor `name` as fp32.
    func floats(_ name: String) throws -> [Float]
}

extension SafeTensorsFile: ParameterSource {}

extension GPT {
    /// Copies every parameter from `source`, where tensor names are `prefix` + the Hugging Face
    /// name (`transformer.h.0.attn.c_attn.weight`, …). Shapes must match exactly; F32, F16 and
    /// BF16 tensors are converted to fp32.
    /// A Llama model reads Hugging Face's separate `[out, in]` tensors (`q_proj`, `k_proj`, …) and
    /// fuses them (``LlamaTensorMap``).
    public func loadParameters(from source: some ParameterSource, prefix: String = "") throws {
        if config.isLlama { try loadLlamaParameters(from: source, prefix: prefix); return }
        for spec in layout.tensors {
            let name = prefix + spec.name
            let entry = try source.entry(name)
            guard entry.shape == spec.shape else {
                if spec.name == "transformer.wte.weight" {
                    throw SafeTensorsError(source.path, "tensor '\(name)' has shape \(entry.shape) but the model's vocab_size × n_embd is \(spec.shape): the vocabulary does not match the config")
                }
                throw SafeTensorsError(source.path, "tensor '\(name)' has shape \(entry.shape), the model expects \(spec.shape)")
            }
            let values = try source.floats(name)
            values.withUnsafeBufferPointer { src in
                (parameters.base + spec.offset).update(from: src.baseAddress!, count: spec.count)
            }
        }
    }
}

extension GPT {
    /// The Hugging Face tensors of a full-layout buffer of `config`'s model (its parameters,
    /// gradients or Adam moments), in checkpoint order: GPT-2's as they are, Llama's split and
    /// transposed back to `[out, in]` (``LlamaTensorMap``).
    public static func huggingFaceTensors(of buffer: UnsafePointer<Float>, config: GPTConfig) -> [(name: String, shape: [Int], values: [Float])] {
        ParameterLayout(config: config).tensors.flatMap { spec -> [(name: String, shape: [Int], values: [Float])] in
            guard config.isLlama else {
                return [(spec.name, spec.shape, Array(UnsafeBufferPointer(start: buffer + spec.offset, count: spec.count)))]
            }
            return LlamaTensorMap.parts(of: spec, config: config).map { part in
                let values = [Float](unsafeUninitializedCapacity: part.shape.reduce(1, *)) { out, n in
                    LlamaTensorMap.gather(buffer + spec.offset, part: part, spec: spec, into: out.baseAddress!)
                    n = out.count
                }
                return (part.name, part.shape, values)
            }
        }
    }
}
