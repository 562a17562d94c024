/// Named job configurations (`monolith train --preset NAME`).
public enum Presets {
    /// Accepted preset names.
    public static let names = ["shakespeare-char", "gpt2-124m", "mt-nlg-530b"]

    /// The job called `name`, if any.
    public static func job(_ name: String) -> JobConfig? {
        switch name {
        case "shakespeare-char": return shakespeareChar
        case "gpt2-124m": return gpt2Small
        case "mt-nlg-530b": return mtNLG530B
        default: return nil
        }
    }

    /// nanoGPT's CPU "baby GPT" (`config/train_shakespeare_char.py` with its README's CPU flags):
    /// 4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iterations, lr 1e-3 warming up over
    /// 100 iterations and decaying to 1e-4 at 2000, β₂ 0.99, weight decay 0.1, clipping 1.0, no
    /// dropout, character-level tokens, 90/10 split by characters.
    public static var shakespeareChar: JobConfig {
        var j = JobConfig()
        j.model = ModelSection(nLayer: 4, nHead: 4, nEmbd: 128, contextLength: 64, vocabSize: 0, dropout: 0)
        j.tokenizer.kind = .char
        j.data.format = .text
        j.data.trainFraction = 0.9
        j.optimizer = OptimizerSection(lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0)
        j.schedule = ScheduleSection(warmupSteps: 100, decaySteps: 2000, minLR: 1e-4)
        j.training.maxSteps = 2000
        j.training.microBatch = 12
        j.training.globalBatch = 12
        // nanoGPT estimates the loss every 250 steps on 20 batches; the final number covers the
        // whole validation split.
        j.training.evalInterval = 250
        j.training.evalBatches = 20
        j.training.finalEvalBatches = 0
        j.training.sampleTokens = 300
        j.logging.outDir = "runs/shakespeare-char"
        return j
    }

    /// GPT-2 124M on GPT-2 BPE tokens, nanoGPT's `train_gpt2.py` recipe scaled to a CPU: lr 6e-4
    /// with 2000 warm-up steps, cosine to 6e-5, β₂ 0.95, weight decay 0.1, clipping 1.0. The
    /// tokenizer's BPE ranks are fetched once into the user cache (see ``TokenizerKind/gpt2``).
    public static var gpt2Small: JobConfig {
        var j = JobConfig()
        j.model = ModelSection(nLayer: 12, nHead: 12, nEmbd: 768, contextLength: 1024, vocabSize: 50257, dropout: 0)
        j.tokenizer.kind = .gpt2
        j.optimizer = OptimizerSection(lr: 6e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0)
        j.schedule = ScheduleSection(warmupSteps: 2000, decaySteps: 600_000, minLR: 6e-5)
        j.training.maxSteps = 600_000
        j.training.microBatch = 4
        j.training.globalBatch = 480
        j.training.evalInterval = 1000
        j.training.evalBatches = 50
        j.checkpoint.interval = 1000
        j.logging.outDir = "runs/gpt2-124m"
        return j
    }

    /// Megatron-Turing NLG 530B as published (Smith et al. 2022, "Using DeepSpeed and Megatron to
    /// Train Megatron-Turing NLG 530B", §3.1 and Table 1): 105 layers, hidden 20480, 128 heads,
    /// sequence 2048; Adam β₁ 0.9, β₂ 0.95, ε 1e-8; lr 5e-5 with warm-up over 1B tokens and cosine
    /// decay to 10% over 340B tokens; global batch ramped from 32 to 1920 by 32 over the first 12B
    /// tokens; clipping 1.0; weight decay 0.1; init std √(1/(3·20480)); tp 8 × pp 35 with ZeRO-1.
    /// A template for the planner (`monolith plan`), far beyond one CPU.
    public static var mtNLG530B: JobConfig {
        var j = JobConfig()
        let seq = 2048, tokensPerStep = 1920 * 2048
        j.model = ModelSection(nLayer: 105, nHead: 128, nEmbd: 20480, contextLength: seq, vocabSize: 50257,
                               dropout: 0, initStd: Float((1.0 / (3.0 * 20480.0)).squareRoot()))
        j.tokenizer.kind = .gpt2
        j.data.format = .megatron
        j.optimizer = OptimizerSection(lr: 5e-5, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0)
        // Token budgets converted to steps at the full batch of 1920 × 2048 tokens.
        j.schedule = ScheduleSection(warmupSteps: 1_000_000_000 / tokensPerStep, decaySteps: 340_000_000_000 / tokensPerStep,
                                     minLR: 5e-6, batchRampup: [32, 32, 12_000_000_000 / seq])
        j.training.maxSteps = 340_000_000_000 / tokensPerStep
        j.training.microBatch = 1
        j.training.globalBatch = 1920
        j.parallel = ParallelSection(tp: 8, pp: 35, dp: 0, zero: 1, virtualStages: 1, recompute: .full, sequenceParallel: false)
        j.logging.outDir = "runs/mt-nlg-530b"
        return j
    }
}
