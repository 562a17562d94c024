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

/// Offsets of one block's tensors, relative to the flat buffer's start. The same twelve slots
/// serve both architectures: for Llama `ln1w`/`ln2w` are the RMSNorm weights, `qkvw` the fused
/// `[q | k | v]` projection, `fcW` the fused `[gate | up]` projection, and the biases are absent.
public struct BlockOffsets: Sendable {
    public let ln1w, qkvw, attnProjW, ln2w, fcW, fcProjW: Int
    public let ln1b, qkvb, attnProjB, ln2b, fcB, fcProjB: Int?

    /// Offsets of a block whose tensors have the given element counts, packed in slot order from
    /// `start` (a tensor-parallel shard uses its local sizes); a bias of count 0 is absent.
    public init(packedFrom start: Int, counts: [Int]) {
        precondition(counts.count == 12, "a block has 12 tensor slots")
        var o = [start]
        for k in counts.dropLast() { o.append(o.last! + k) }
        func bias(_ i: Int) -> Int? { counts[i] > 0 ? o[i] : nil }
        ln1w = o[0]; ln1b = bias(1); qkvw = o[2]; qkvb = bias(3); attnProjW = o[4]; attnProjB = bias(5)
        ln2w = o[6]; ln2b = bias(7); fcW = o[8]; fcB = bias(9); fcProjW = o[10]; fcProjB = bias(11)
    }

    /// The element counts of the twelve slots of `config`'s block on one of `tp` tensor ranks
    /// (Megatron's split, see ``TransformerLayer``); absent biases count 0.
    public static func counts(_ config: GPTConfig, tensorParallel tp: Int) -> [Int] {
        let c = config.nEmbd, q = c / tp, kv = config.kvWidth / tp, f = config.fcWidth / tp, h = config.intermediateSize / tp
        let b = config.hasBiases ? 1 : 0
        return [c, b * c, c * (q + 2 * kv), b * (q + 2 * kv), q * c, b * c, c, b * c, c * f, b * f, h * c, b * c]
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
    /// Offsets of the token embedding, the final norm's weight and the `lm_head` (`wte` when tied).
    public let wte: Int, lnfW: Int, lmHead: Int
    /// Offsets of the position embedding and the final LayerNorm's bias (GPT-2 only).
    public let wpe: Int?, lnfB: Int?
    /// Per-block offsets.
    public let blocks: [BlockOffsets]
    private let index: [String: Int]

    /// The layout of `config`'s parameters: Hugging Face's `GPT2LMHeadModel` names and order; for
    /// Llama, `LlamaForCausalLM`'s order with the projections that read the same input fused.
    ///
    /// Llama matrices are stored `[in, out]` like GPT-2's Conv1D, so one set of kernels serves
    /// both: `self_attn.qkv_proj.weight` `[C, C + 2·W]` is `[q | k | v]` and
    /// `mlp.gate_up_proj.weight` `[C, 2I]` is `[gate | up]`. Hugging Face's separate `[out, in]`
    /// tensors are transposed into and out of these on load and save (``LlamaTensorMap``).
    public init(config: GPTConfig) {
        let c = config.nEmbd, llama = config.isLlama
        var specs: [TensorSpec] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let spec = TensorSpec(name: name, shape: shape, offset: offset)
            specs.append(spec)
            offset += spec.count
            return spec.offset
        }
        wte = add(llama ? "model.embed_tokens.weight" : "transformer.wte.weight", [config.vocabSize, c])
        wpe = config.hasPositionEmbedding ? add("transformer.wpe.weight", [config.contextLength, c]) : nil
        let counts = BlockOffsets.counts(config, tensorParallel: 1), slots = Self.blockSlots(config)
        var blocks: [BlockOffsets] = []
        for l in 0..<config.nLayer {
            let p = Self.blockPrefix(config, layer: l), start = offset
            for case let (name, shape)? in slots { _ = add(p + name, shape) }
            blocks.append(BlockOffsets(packedFrom: start, counts: counts))
        }
        self.blocks = blocks
        lnfW = add(llama ? "model.norm.weight" : "transformer.ln_f.weight", [c])
        lnfB = config.hasBiases ? add("transformer.ln_f.bias", [c]) : nil
        lmHead = config.tiedHead ? wte : add("lm_head.weight", [config.vocabSize, c])
        tensors = specs
        count = offset
        index = Dictionary(uniqueKeysWithValues: specs.enumerated().map { ($1.name, $0) })
    }

    /// The name prefix of layer `l`'s tensors (`transformer.h.3.`, `model.layers.3.`).
    public static func blockPrefix(_ config: GPTConfig, layer l: Int) -> String {
        config.isLlama ? "model.layers.\(l)." : "transformer.h.\(l)."
    }

    /// Name (after ``blockPrefix(_:layer:)``) and full shape of each of the twelve ``BlockOffsets``
    /// slots of `config`'s block, nil where the architecture has no such tensor (Llama's biases).
    public static func blockSlots(_ config: GPTConfig) -> [(name: String, shape: [Int])?] {
        let c = config.nEmbd, i = config.intermediateSize
        if config.isLlama {
            return [("input_layernorm.weight", [c]), nil, ("self_attn.qkv_proj.weight", [c, config.qkvWidth]), nil,
                    ("self_attn.o_proj.weight", [c, c]), nil, ("post_attention_layernorm.weight", [c]), nil,
                    ("mlp.gate_up_proj.weight", [c, 2 * i]), nil, ("mlp.down_proj.weight", [i, c]), nil]
        }
        return [("ln_1.weight", [c]), ("ln_1.bias", [c]), ("attn.c_attn.weight", [c, 3 * c]), ("attn.c_attn.bias", [3 * c]),
                ("attn.c_proj.weight", [c, c]), ("attn.c_proj.bias", [c]), ("ln_2.weight", [c]), ("ln_2.bias", [c]),
                ("mlp.c_fc.weight", [c, 4 * c]), ("mlp.c_fc.bias", [4 * c]), ("mlp.c_proj.weight", [4 * c, c]), ("mlp.c_proj.bias", [c])]
    }

    /// The tensor called `name`, if any.
    public func spec(named name: String) -> TensorSpec? { index[name].map { tensors[$0] } }

    /// Parameters excluding the position embedding (the `N` of the `6N` FLOPs/token estimate).
    public var countWithoutPositions: Int { count - (wpe == nil ? 0 : tensors[1].count) }

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
