import ArgumentParser
import Foundation
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithTraining

/// `monolith bench generate`: batch-1 prompt processing and decoding, measured the way
/// `llama-bench` measures them (`pp512`: one prompt of 512 tokens; `tg128`: 128 tokens decoded
/// one at a time from an empty context), so the two engines compare on one model file.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Time prompt processing and KV-cache decoding (batch 1), as llama-bench's pp and tg tests.")

    @Option(help: "Model preset (random weights; speed does not depend on them).") var preset = "gpt2-124m"
    @Option(help: "A Hugging Face directory, a .gguf file or a registry name (smollm2-135m-instruct) instead of a preset.")
    var model: String?
    @Option(help: "Prompt length in tokens (llama-bench -p).") var promptTokens = 512
    @Option(help: "Tokens to decode (llama-bench -n).") var newTokens = 128
    @Option(help: "Repetitions after one warm-up (the median is reported).") var reps = 3
    @Option(help: weightsHelp) var weights: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Codable {
        let promptMsPerToken, decodeMsPerToken, promptTokensPerSecond, decodeTokensPerSecond: Double
        let promptTokens, newTokens, threads, parameters: Int
        let weights, model, cpu: String
        let decodeMsPerTokenRuns: [Double]
        /// Weight bytes one decode step reads, the measured read bandwidth, and the decode rate
        /// they allow (bytes/token ÷ bandwidth), with the share of it reached.
        let weightBytesPerToken: Int
        let memoryBandwidthGBs, bandwidthBoundTokensPerSecond, bandwidthEfficiency: Double
        let peakRSSBytes: Int
        enum CodingKeys: String, CodingKey {
            case promptMsPerToken = "prompt_ms_per_token", decodeMsPerToken = "decode_ms_per_token"
            case promptTokensPerSecond = "pp_tokens_per_second", decodeTokensPerSecond = "tg_tokens_per_second"
            case promptTokens = "prompt_tokens", newTokens = "new_tokens", threads, parameters, weights, model, cpu
            case decodeMsPerTokenRuns = "decode_ms_per_token_runs"
            case weightBytesPerToken = "weight_bytes_per_token", memoryBandwidthGBs = "memory_bandwidth_gb_s"
            case bandwidthBoundTokensPerSecond = "bandwidth_bound_tokens_per_second", bandwidthEfficiency = "bandwidth_efficiency"
            case peakRSSBytes = "peak_rss_bytes"
        }
    }

    func run() throws {
        configureThreads(threads)
        guard promptTokens >= 1, newTokens >= 2, reps >= 1 else {
            throw ValidationError("--prompt-tokens must be ≥ 1, --new-tokens ≥ 2 and --reps ≥ 1")
        }
        let gpt: GPT, decodeWeights: DecodeSession.Weights
        if let model {
            let loaded = try loadModel(model, tokenizer: nil, weights: weights)
            gpt = loaded.model; decodeWeights = loaded.weights
        } else {
            guard let config = GPTConfig.preset(preset) else {
                throw ValidationError("unknown preset '\(preset)'; choose one of: \(GPTConfig.presetNames.joined(separator: ", "))")
            }
            gpt = try GPT(config: config)
            gpt.initializeWeights(seed: 1)
            switch weights ?? "fp32" {
            case "fp32": decodeWeights = .fp32
            case "bf16": gpt.roundWeightsToBF16(); decodeWeights = .bf16
            default: throw ValidationError("--weights must be fp32 or bf16 for a preset (native needs a GGUF file), got '\(weights!)'")
            }
        }
        let v = gpt.config.vocabSize
        var rng = SplitMix64(seed: 5)
        let prompt = (0..<promptTokens).map { _ in Int32(rng.next() % UInt64(v)) }
        let session = try DecodeSession(model: gpt, slots: 1, capacity: max(promptTokens, newTokens + 1), weights: decodeWeights)
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        var prompts: [Double] = [], decodes: [Double] = []
        // The first run of each pays first-touch page faults on fresh buffers; it is a warm-up.
        for _ in 0...reps {
            prompts.append(try seconds { _ = try session.prefill(slot: 0, prompt) } / Double(promptTokens))
            var sampler = Sampler(temperature: 0)
            var next = sampler.next(try session.prefill(slot: 0, [prompt[0]]))
            decodes.append(try seconds {
                for _ in 0..<newTokens { next = sampler.next(try session.decode([next])) }
            } / Double(newTokens))
        }
        prompts.removeFirst(); decodes.removeFirst()
        let pp = prompts.sorted()[prompts.count / 2], tg = decodes.sorted()[decodes.count / 2]
        let rss = TrainBenchmark.peakRSS()   // before the bandwidth test's own buffer
        let bandwidth = MemoryBandwidth.measure(pool: gpt.pool)
        let bytes = session.weightBytesPerStep
        let bound = bandwidth / Double(bytes)
        let r = Result(promptMsPerToken: 1000 * pp, decodeMsPerToken: 1000 * tg, promptTokensPerSecond: 1 / pp,
                       decodeTokensPerSecond: 1 / tg, promptTokens: promptTokens, newTokens: newTokens, threads: gpt.pool.threadCount,
                       parameters: gpt.parameterCount, weights: session.weightsDescription, model: model ?? preset,
                       cpu: CPUFeatures.host.modelName, decodeMsPerTokenRuns: decodes.map { 1000 * $0 },
                       weightBytesPerToken: bytes, memoryBandwidthGBs: bandwidth / 1e9, bandwidthBoundTokensPerSecond: bound,
                       bandwidthEfficiency: (1 / tg) / bound, peakRSSBytes: rss)
        if json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(r), encoding: .utf8)!)
        } else {
            print(String(format: "%@ (%@ weights, %d threads, %@)", r.model as NSString, r.weights as NSString, r.threads, r.cpu as NSString))
            print(String(format: "  pp%d: %.1f tokens/s (%.2f ms/token)", promptTokens, r.promptTokensPerSecond, r.promptMsPerToken))
            print(String(format: "  tg%d: %.1f tokens/s (%.2f ms/token)", newTokens, r.decodeTokensPerSecond, r.decodeMsPerToken))
            print(String(format: "  decode reads %.1f MB of weights per token; at %.1f GB/s that bounds it to %.0f tokens/s (%.0f%% reached)",
                         Double(bytes) / 1e6, r.memoryBandwidthGBs, bound, 100 * r.bandwidthEfficiency))
            print(String(format: "  peak RSS %.0f MiB", Double(r.peakRSSBytes) / 1048576))
        }
    }
}
