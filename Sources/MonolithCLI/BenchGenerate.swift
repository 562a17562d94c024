import ArgumentParser
import Foundation
import MonolithInference
import MonolithKernels
import MonolithModel

struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Time prompt processing and KV-cache decoding (batch 1).")

    @Option(help: "Model preset (random weights; speed does not depend on them).") var preset = "gpt2-124m"
    @Option(help: "A Hugging Face model directory instead of a preset.") var model: String?
    @Option(help: "Prompt length in tokens.") var promptTokens = 32
    @Option(help: "Tokens to generate.") var newTokens = 128
    @Option(help: "Repetitions (the median is reported).") var reps = 3
    @Option(help: "Weights read by decoding: fp32, or bf16 (half the memory traffic).") var weights = "fp32"
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Codable {
        let promptMsPerToken, decodeMsPerToken: Double
        let promptTokens, newTokens, threads, parameters: Int
        let weights: String
        let decodeMsPerTokenRuns: [Double]
        enum CodingKeys: String, CodingKey {
            case promptMsPerToken = "prompt_ms_per_token", decodeMsPerToken = "decode_ms_per_token"
            case promptTokens = "prompt_tokens", newTokens = "new_tokens", threads, parameters, weights
            case decodeMsPerTokenRuns = "decode_ms_per_token_runs"
        }
    }

    func run() throws {
        configureThreads(threads)
        let gpt: GPT
        if let model {
            gpt = try GPT.loadHuggingFace(directory: model)
        } else {
            guard let config = GPTConfig.preset(preset) else {
                throw ValidationError("unknown preset '\(preset)'; choose one of: \(GPTConfig.presetNames.joined(separator: ", "))")
            }
            gpt = try GPT(config: config)
            gpt.initializeWeights(seed: 1)
        }
        guard ["fp32", "bf16"].contains(weights) else { throw ValidationError("--weights must be fp32 or bf16, got '\(weights)'") }
        if weights == "bf16" { gpt.roundWeightsToBF16() }
        guard promptTokens >= 1, newTokens >= 2 else { throw ValidationError("--prompt-tokens must be ≥ 1 and --new-tokens ≥ 2") }
        var rng = SplitMix64(seed: 5)
        let prompt = (0..<promptTokens).map { _ in Int32(rng.next() % UInt64(gpt.config.vocabSize)) }
        let generator = try Generator(model: gpt, capacity: promptTokens + newTokens, bf16Weights: weights == "bf16")
        var prompts: [Double] = [], decodes: [Double] = []
        for _ in 0..<(reps + 1) {
            var sampler = Sampler(temperature: 0)
            var timing = Generator.Timing()
            _ = try generator.generate(prompt: prompt, maxNewTokens: newTokens, sampler: &sampler, timing: &timing)
            prompts.append(1000 * timing.promptSeconds / Double(timing.promptTokens))
            decodes.append(1000 * timing.decodeSeconds / Double(max(1, timing.decodedTokens)))
        }
        // The first run pays first-touch page faults on fresh buffers; it is a warm-up.
        prompts.removeFirst(); decodes.removeFirst()
        let r = Result(promptMsPerToken: prompts.sorted()[prompts.count / 2], decodeMsPerToken: decodes.sorted()[decodes.count / 2],
                       promptTokens: promptTokens, newTokens: newTokens, threads: gpt.pool.threadCount,
                       parameters: gpt.parameterCount, weights: weights, decodeMsPerTokenRuns: decodes)
        if json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(r), encoding: .utf8)!)
        } else {
            print(String(format: "%@ (%@ weights): prompt %.2f ms/token (%d tokens), decode %.2f ms/token (%d tokens), %d threads",
                         (model ?? preset) as NSString, weights as NSString, r.promptMsPerToken, promptTokens, r.decodeMsPerToken,
                         newTokens, r.threads))
        }
    }
}
