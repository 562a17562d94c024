/// FLOP counts of a GPT training step, counting a multiply-add as 2 FLOPs and only the matrix
/// multiplications (elementwise work is timed as memory traffic instead).
///
/// One layer's forward pass on `b` sequences of `s` tokens: the QKV, output and two MLP projections
/// are 24bsh², the attention scores QKᵀ and their product with V are 4bs²h. The backward pass costs
/// twice the forward, so training is 3 forward-equivalents; full recomputation adds a 4th
/// (Narayanan et al. 2021, §5.1, Appendix). The output layer (2bshV forward) is never recomputed.
public enum FlopCount {
    /// Forward FLOPs of one transformer layer.
    public static func layerForward(batch b: Double, sequence s: Double, hidden h: Double) -> Double {
        24 * b * s * h * h + 4 * b * s * s * h
    }

    /// Forward FLOPs of the attention core (QKᵀ and ·V), the part selective recomputation reruns.
    public static func attentionCoreForward(batch b: Double, sequence s: Double, hidden h: Double) -> Double {
        4 * b * s * s * h
    }

    /// Forward FLOPs of the output projection onto the vocabulary.
    public static func logitsForward(batch b: Double, sequence s: Double, hidden h: Double,
                                     vocabulary v: Double) -> Double {
        2 * b * s * h * v
    }

    /// FLOPs one layer executes in training (forward + backward + recomputation) on `b` sequences.
    public static func layerTraining(batch b: Double, sequence s: Double, hidden h: Double,
                                     recompute: Recompute) -> Double {
        let forward = layerForward(batch: b, sequence: s, hidden: h)
        switch recompute {
        case .none: return 3 * forward
        case .selective: return 3 * forward + attentionCoreForward(batch: b, sequence: s, hidden: h)
        case .full: return 4 * forward
        }
    }

    /// FLOPs a step executes on the hardware, recomputation included, for `batch` sequences.
    public static func hardware(model: ModelSpec, batch: Double, sequence s: Double, vocabulary v: Double,
                                recompute: Recompute) -> Double {
        let h = Double(model.hidden)
        return Double(model.layers) * layerTraining(batch: batch, sequence: s, hidden: h, recompute: recompute)
            + 3 * logitsForward(batch: batch, sequence: s, hidden: h, vocabulary: v)
    }

    /// FLOPs the model needs, without recomputation: 72Bslh²(1 + s/(6h) + V/(12lh)) — the numerator
    /// of MFU (Korthikanti et al. 2022, "model FLOPs").
    public static func model(model: ModelSpec, batch: Double, sequence s: Double, vocabulary v: Double) -> Double {
        hardware(model: model, batch: batch, sequence: s, vocabulary: v, recompute: .none)
    }

    /// Narayanan et al. 2021's count for a step with full recomputation, 96Bslh²(1 + s/(6h) + V/(16lh))
    /// (§5.1); MT-NLG and Megatron report TFLOP/s per GPU with it. Equal to
    /// `hardware(recompute: .full)`, which the tests check.
    public static func narayanan(batch: Double, sequence s: Double, layers l: Double, hidden h: Double,
                                 vocabulary v: Double) -> Double {
        96 * batch * s * l * h * h * (1 + s / (6 * h) + v / (16 * l * h))
    }
}
