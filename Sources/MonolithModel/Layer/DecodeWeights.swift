import MonolithGGUF
import MonolithKernels

/// One projection as decoding reads it. Training and prefill always read the model's fp32
/// `[in, out]` tensor; decoding may read a cheaper copy instead.
public enum DecodeLinear {
    /// The model's own fp32 weights.
    case fp32
    /// A bf16 copy of the `[in, out]` tensor (half the memory traffic of fp32).
    case bf16(BF16Matrix)
    /// The GGUF file's block-quantized matrices, each `[out, in]`, filling output columns from
    /// `column` on (`q | k | v` and `gate | up` are separate tensors in GGUF). Inputs are quantized
    /// to 8 bits for the integer dot products, as llama.cpp does.
    case quantized([(matrix: QuantizedMatrix, column: Int)])

    /// Whether the model's fp32 tensor is never read while decoding.
    public var replacesFP32: Bool { if case .quantized = self { true } else { false } }
}

/// The four projections of one block as decoding reads them.
public struct DecodeBlockWeights {
    /// `[C, C+2W]` attention input, `[C, C]` attention output, `[C, fc]` MLP input, `[I, C]` MLP output.
    public let qkv, attnProj, fc, fcProj: DecodeLinear

    /// The four projections.
    public init(qkv: DecodeLinear, attnProj: DecodeLinear, fc: DecodeLinear, fcProj: DecodeLinear) {
        self.qkv = qkv; self.attnProj = attnProj; self.fc = fc; self.fcProj = fcProj
    }

    /// bf16 copies of block `w` of `config`'s shape.
    public static func bf16(_ w: BlockTensors, config: GPTConfig, pool: WorkerPool) -> DecodeBlockWeights {
        let c = config.nEmbd, q = config.qkvWidth, f = config.fcWidth, h = config.intermediateSize
        return DecodeBlockWeights(qkv: .bf16(BF16Matrix(w.qkvw, rows: c, cols: q, ld: q, pool: pool)),
                                  attnProj: .bf16(BF16Matrix(w.attnProjW, rows: c, cols: c, ld: c, pool: pool)),
                                  fc: .bf16(BF16Matrix(w.fcW, rows: c, cols: f, ld: f, pool: pool)),
                                  fcProj: .bf16(BF16Matrix(w.fcProjW, rows: h, cols: c, ld: c, pool: pool)))
    }

    /// The model's fp32 weights throughout.
    public static var fp32: DecodeBlockWeights { DecodeBlockWeights(qkv: .fp32, attnProj: .fp32, fc: .fp32, fcProj: .fp32) }
}

extension DecodeLinear {
    /// `out (+)= input · W (+ bias)` for `rows` input rows of `k` features and `n` outputs, where
    /// `w` is the model's fp32 `[k, n]` tensor (read only for ``fp32``, and for ``bf16`` beyond 4
    /// rows, where the fp32 GEMM wins: the weights are read once either way).
    func apply(_ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
               bias: UnsafePointer<Float>?, rows: Int, k: Int, n: Int, accumulate: Bool,
               activations: QuantizedActivations, pool: WorkerPool) {
        switch self {
        case .bf16(let packed) where rows <= 4:
            if let bias { Residual.copyAddingBias(output: out, input: nil, bias: bias, rows: rows, cols: n, pool: .serial) }
            packed.rowsTimesMatrix(y: out, x: input, rows: rows, accumulate: accumulate || bias != nil, pool: pool)
        case .quantized(let parts):
            if let bias {
                Residual.copyAddingBias(output: out, input: accumulate ? out : nil, bias: bias, rows: rows, cols: n, pool: .serial)
            }
            for (i, part) in parts.enumerated() {
                // q, k and v (gate and up) read one input: quantize it once unless the types differ.
                if i == 0 || !activations.isPrepared(for: part.matrix.type, rows: rows, cols: k) {
                    activations.quantize(input, rows: rows, cols: k, for: part.matrix.type)
                }
                part.matrix.multiply(quantized: activations, into: out + part.column, ldy: n,
                                     accumulate: accumulate || bias != nil, pool: pool)
            }
        default:
            Linear.forward(output: out, input: input, weight: w, bias: bias, rows: rows, inFeatures: k, outFeatures: n,
                           accumulate: accumulate, pool: pool)
        }
    }
}
