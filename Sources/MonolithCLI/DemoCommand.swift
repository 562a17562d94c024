import ArgumentParser
import Foundation
import MonolithKernels
import MonolithModel
import MonolithTraining

/// `monolith demo`: train a small character-level GPT, print the loss falling, then sample.
///
/// With no `--text`, the corpus is generated: lines of two-digit sums (`"37+48=85"`), which a
/// small model learns in a few hundred steps, so the samples show whether it learned arithmetic.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Train a small character-level GPT on built-in data, then sample from it.")

    @Option(help: "Train on this UTF-8 text file instead of the generated arithmetic corpus.") var text: String?
    @Option(help: "Optimizer steps.") var steps = 1500
    @Option(help: "Sequences per step.") var batch = 16
    @Option(help: "Context length.") var seq = 64
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "Model width.") var width = 128
    @Option(help: "Peak learning rate.") var lr: Float = 2e-3
    @Option(help: "Random seed.") var seed: UInt64 = 1337
    @Option(help: "Characters to sample after training.") var sampleLength = 160
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        configureThreads(threads)
        let corpus: String
        if let text {
            guard let data = FileManager.default.contents(atPath: text) else { throw ValidationError("cannot read --text file '\(text)'") }
            guard let s = String(data: data, encoding: .utf8) else { throw ValidationError("--text file '\(text)' is not valid UTF-8") }
            corpus = s
        } else {
            corpus = Self.arithmeticCorpus(lines: 20_000, seed: seed)
        }
        let chars = Array(Set(corpus.unicodeScalars)).sorted { $0.value < $1.value }
        let index = Dictionary(uniqueKeysWithValues: chars.enumerated().map { ($1, Int32($0)) })
        let tokens = corpus.unicodeScalars.map { index[$0]! }
        guard tokens.count > seq + 1 else { throw ValidationError("the text has \(tokens.count) characters; need more than --seq + 1 = \(seq + 1)") }
        let split = tokens.count * 9 / 10
        let config = GPTConfig(nLayer: layers, nHead: heads, nEmbd: width, vocabSize: chars.count, contextLength: seq)
        let trainer = try Trainer(config: config, microBatch: (batch, seq), optimizer: AdamWConfig(beta2: 0.99, weightDecay: 0.1),
                                  schedule: LRSchedule(lr: lr, minLR: lr / 10, warmupSteps: max(1, steps / 20), decaySteps: steps),
                                  gradClip: 1.0, parallel: try ParallelRuntime.single(model: config, microBatch: batch))
        trainer.initializeWeights(seed: seed)
        print("demo: \(tokens.count) characters, vocabulary \(chars.count), model \(ParameterLayout(config: config).count) parameters, \(trainer.pool.threadCount) threads")
        var rng = SplitMix64(seed: seed)
        func batchFrom(_ range: Range<Int>) -> TokenBatch {
            var ids: [Int32] = [], targets: [Int32] = []
            for _ in 0..<batch {
                let start = Int.random(in: range.lowerBound..<(range.upperBound - seq - 1), using: &rng)
                ids += tokens[start..<(start + seq)]
                targets += tokens[(start + 1)..<(start + seq + 1)]
            }
            return TokenBatch(ids: ids, targets: targets, batch: batch, seqLen: seq)
        }
        let t0 = Date()
        for step in 0..<steps {
            let stats = try trainer.step(microBatches: [batchFrom(0..<split)])
            if step % 25 == 0 || step == steps - 1 {
                print(String(format: "step %4d  loss %.4f  lr %.2e  grad-norm %.3f  %.1fs", step, stats.loss, stats.lr,
                             stats.gradNorm, Date().timeIntervalSince(t0)))
            }
        }
        let model = try trainer.assembleFullModel()!
        var valLoss: Float = 0
        for _ in 0..<8 {
            let vb = batchFrom(split..<tokens.count)
            valLoss += try vb.ids.withUnsafeBufferPointer { i in
                try vb.targets.withUnsafeBufferPointer { t in
                    try model.forward(ids: i.baseAddress!, targets: t.baseAddress!, batch: batch, seqLen: seq)!
                }
            } / 8
        }
        print(String(format: "validation loss %.4f", valLoss))
        var context: [Int32] = [index[corpus.unicodeScalars.first!]!]
        var out = String(chars[Int(context[0])])
        for _ in 0..<sampleLength {
            let window = Array(context.suffix(seq))
            _ = try window.withUnsafeBufferPointer { try model.forward(ids: $0.baseAddress!, batch: 1, seqLen: window.count) }
            let logits = model.logits + (window.count - 1) * chars.count
            let next = Self.sample(logits: logits, count: chars.count, temperature: 0.8, rng: &rng)
            context.append(Int32(next))
            out.unicodeScalars.append(chars[next])
        }
        print("sample:\n\(out)")
        if text == nil {
            let (right, total) = try arithmeticAccuracy(model: model, index: index, chars: chars, rng: &rng)
            print("greedy answers to \(total) random sums: \(right) correct (\(100 * right / total)%)")
        }
    }

    /// Asks the model `a+b=` for random operands and checks its greedy completion.
    func arithmeticAccuracy(model: GPT, index: [Unicode.Scalar: Int32], chars: [Unicode.Scalar],
                            rng: inout SplitMix64) throws -> (Int, Int) {
        var right = 0
        let total = 100
        for _ in 0..<total {
            let a = Int.random(in: 0..<100, using: &rng), b = Int.random(in: 0..<100, using: &rng)
            var context = "\n\(a)+\(b)=".unicodeScalars.map { index[$0]! }
            var answer = ""
            for _ in 0..<4 {
                _ = try context.withUnsafeBufferPointer { try model.forward(ids: $0.baseAddress!, batch: 1, seqLen: context.count) }
                let logits = model.logits + (context.count - 1) * chars.count
                let next = (0..<chars.count).max { logits[$0] < logits[$1] }!
                if chars[next] == "\n" { break }
                answer.unicodeScalars.append(chars[next])
                context.append(Int32(next))
            }
            if answer == String(a + b) { right += 1 }
        }
        return (right, total)
    }

    static func arithmeticCorpus(lines: Int, seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed ^ 0xA5A5)
        var s = ""
        for _ in 0..<lines {
            let a = Int.random(in: 0..<100, using: &rng), b = Int.random(in: 0..<100, using: &rng)
            s += "\(a)+\(b)=\(a + b)\n"
        }
        return s
    }

    static func sample(logits: UnsafePointer<Float>, count: Int, temperature: Float, rng: inout SplitMix64) -> Int {
        let m = (0..<count).map { logits[$0] }.max()!
        let w = (0..<count).map { Double(expf((logits[$0] - m) / temperature)) }
        var u = Double.random(in: 0..<w.reduce(0, +), using: &rng)
        for (i, x) in w.enumerated() { u -= x; if u < 0 { return i } }
        return count - 1
    }
}
