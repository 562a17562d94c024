import MonolithKernels

extension GPT {
    /// Copies every parameter from `file`, where tensor names are `prefix` + the Hugging Face
    /// name (`transformer.h.0.attn.c_attn.weight`, …). Shapes must match exactly; F32, F16 and
    /// BF16 tensors are converted to fp32.
    public func loadParameters(from file: SafeTensorsFile, prefix: String = "") throws {
        for spec in layout.tensors {
            let name = prefix + spec.name
            let entry = try file.entry(name)
            guard entry.shape == spec.shape else {
                throw SafeTensorsError(file.path, "tensor '\(name)' has shape \(entry.shape), the model expects \(spec.shape)")
            }
            let values = try file.floats(name)
            values.withUnsafeBufferPointer { src in
                (parameters.base + spec.offset).update(from: src.baseAddress!, count: spec.count)
            }
        }
    }
}
