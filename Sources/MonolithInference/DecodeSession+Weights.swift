import MonolithModel

extension DecodeSession {
    /// Bytes of weights one decode step reads: every block's projections and the output
    /// projection, in the form each is read (what bounds batch-1 decoding).
    public var weightBytesPerStep: Int {
        let cfg = model.config, c = cfg.nEmbd
        let fp32Sizes = [c * cfg.qkvWidth, c * c, c * cfg.fcWidth, cfg.intermediateSize * c]
        func bytes(_ w: DecodeLinear, _ elements: Int) -> Int {
            switch w {
            case .fp32: 4 * elements
            case .bf16: 2 * elements
            case .quantized(let parts): parts.reduce(0) { $0 + $1.matrix.byteCount }
            }
        }
        let blockBytes = blocks.reduce(0) { sum, b in
            sum + zip([b.qkv, b.attnProj, b.fc, b.fcProj], fp32Sizes).reduce(0) { $0 + bytes($1.0, $1.1) }
        }
        let headBytes = switch head {
        case .fp32: 4 * cfg.vocabSize * c
        case .bf16: 2 * cfg.vocabSize * c
        case .quantized(let m): m.byteCount
        }
        return blockBytes + headBytes
    }

    /// The weights read, in words: `fp32`, `bf16`, or `native` with the quantized types.
    public var weightsDescription: String {
        var types = Set<String>()
        for b in blocks {
            for w in [b.qkv, b.attnProj, b.fc, b.fcProj] {
                if case .quantized(let parts) = w { parts.forEach { types.insert($0.matrix.type.name) } }
            }
        }
        if case .quantized(let m) = head { types.insert(m.type.name) }
        if !types.isEmpty { return "native (" + types.sorted().joined(separator: ", ") + ")" }
        if case .bf16 = head { return "bf16" }
        return "fp32"
    }
}
