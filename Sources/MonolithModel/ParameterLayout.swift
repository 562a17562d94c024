/// One named tensor inside a flat parameter buffer.
public struct TensorSpec: Sendable, Equatable {
    /// Hugging Face name, e.g. `transformer.h.0.attn.c_attn.weight`.
    public let name: String
    /// Shape in Hugging Face layout (Conv1D weights are `[in, out]`).
    public let shape: [Int]
    /// Offset of the first element in the flat buffer.
    public let offset: Int
    /// Whether AdamW applies weight decay (2-D weights only).
    public var decay: Bool { shape.count >= 2 }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of one block's tensors, relative to the flat buffer's start.
public struct BlockOffsets: Sendable {
    public let ln1w, ln1b, qkvw, qkvb, attnProjW, attnProjB, ln2w, ln2b, fcW, fcB, fcProjW, fcProjB: Int

    /// Offsets of a block whose tensors have the given element counts, packed in Hugging Face order
    /// from `start` (a tensor-parallel shard uses its local sizes).
    public init(packedFrom start: Int, counts: [Int]) {
        precondition(counts.count == 12, "a block has 12 tensors")
        var o = [start]
        for k in counts.dropLast() { o.append(o.last! + k) }
        ln1w = o[0]; ln1b = o[1]; qkvw = o[2]; qkvb = o[3]; attnProjW = o[4]; attnProjB = o[5]
        ln2w = o[6]; ln2b = o[7]; fcW = o[8]; fcB = o[9]; fcProjW = o[10]; fcProjB = o[11]
    }

    init(ln1w: Int, ln1b: Int, qkvw: Int, qkvb: Int, attnProjW: Int, attnProjB: Int, ln2w: Int, ln2b: Int,
         fcW: Int, fcB: Int, fcProjW: Int, fcProjB: Int) {
        self.ln1w = ln1w; self.ln1b = ln1b; self.qkvw = qkvw; self.qkvb = qkvb; self.attnProjW = attnProjW
        self.attnProjB = attnProjB; self.ln2w = ln2w; self.ln2b = ln2b; self.fcW = fcW; self.fcB = fcB
        self.fcProjW = fcProjW; self.fcProjB = fcProjB
    }
}

/// Where every parameter lives in the one contiguous buffer shared by parameters, gradients and
/// both Adam moments. The order is Hugging Face's `named_parameters()` order, so a checkpoint is
/// a straight copy and views are plain pointer offsets.
public struct ParameterLayout: Sendable {
    /// All tensors in buffer order.
    public let tensors: [TensorSpec]
    /// Total number of floats.
    public let count: Int
    /// Offsets of the token and position embeddings, and the final LayerNorm.
    public let wte: Int, wpe: Int, lnfW: Int, lnfB: Int
    /// Per-block offsets.
    public let blocks: [BlockOffsets]
    private let index: [String: Int]

    /// The layout of `config`'s parameters.
    public init(config: GPTConfig) {
        let c = config.nEmbd
        var specs: [TensorSpec] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let spec = TensorSpec(name: name, shape: shape, offset: offset)
            specs.append(spec)
            offset += spec.count
            return spec.offset
        }
        wte = add("transformer.wte.weight", [config.vocabSize, c])
        wpe = add("transformer.wpe.weight", [config.contextLength, c])
        var blocks: [BlockOffsets] = []
        for l in 0..<config.nLayer {
            let p = "transformer.h.\(l)."
            blocks.append(BlockOffsets(
                ln1w: add(p + "ln_1.weight", [c]), ln1b: add(p + "ln_1.bias", [c]),
                qkvw: add(p + "attn.c_attn.weight", [c, 3 * c]), qkvb: add(p + "attn.c_attn.bias", [3 * c]),
                attnProjW: add(p + "attn.c_proj.weight", [c, c]), attnProjB: add(p + "attn.c_proj.bias", [c]),
                ln2w: add(p + "ln_2.weight", [c]), ln2b: add(p + "ln_2.bias", [c]),
                fcW: add(p + "mlp.c_fc.weight", [c, 4 * c]), fcB: add(p + "mlp.c_fc.bias", [4 * c]),
                fcProjW: add(p + "mlp.c_proj.weight", [4 * c, c]), fcProjB: add(p + "mlp.c_proj.bias", [c])))
        }
        self.blocks = blocks
        lnfW = add("transformer.ln_f.weight", [c])
        lnfB = add("transformer.ln_f.bias", [c])
        tensors = specs
        count = offset
        index = Dictionary(uniqueKeysWithValues: specs.enumerated().map { ($1.name, $0) })
    }

    /// The tensor called `name`, if any.
    public func spec(named name: String) -> TensorSpec? { index[name].map { tensors[$0] } }

    /// Parameters excluding the position embedding (the `N` of the `6N` FLOPs/token estimate).
    public var countWithoutPositions: Int { count - tensors[1].count }

    /// Maximal runs of adjacent tensors that share a weight-decay setting, for the optimizer.
    public var decayRuns: [(range: Range<Int>, decay: Bool)] {
        var runs: [(range: Range<Int>, decay: Bool)] = []
        for t in tensors {
            let r = t.offset..<(t.offset + t.count)
            if let last = runs.last, last.decay == t.decay, last.range.upperBound == r.lowerBound {
                runs[runs.count - 1].range = last.range.lowerBound..<r.upperBound
            } else {
                runs.append((r, t.decay))
            }
        }
        return runs
    }
}
