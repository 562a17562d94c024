import ArgumentParser
import Foundation
import MonolithInference
import MonolithModel
import MonolithTokenizer
import MonolithTraining

/// Loads a model directory and the tokenizer beside it (or in `--tokenizer`), checking they agree.
func loadModelAndTokenizer(model dir: String, tokenizer tokDir: String?) throws -> (GPT, any TextTokenizer) {
    let model = try GPT.loadHuggingFace(directory: dir)
    let tokenizer = try Tokenizer.load(path: tokDir ?? dir)
    if tokenizer.vocabularySize > model.config.vocabSize {
        throw ValidationError("\(tokDir ?? dir): the tokenizer has \(tokenizer.vocabularySize) tokens but \(dir)/config.json has vocab_size \(model.config.vocabSize)")
    }
    return (model, tokenizer)
}

/// `monolith generate`: sample text from a model with a KV cache.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a Hugging Face GPT-2 directory (KV-cache decoding).")

    @Option(help: "Model directory (config.json + model.safetensors, tokenizer files beside them).") var model: String
    @Option(help: "Tokenizer directory, when the tokenizer is not in the model directory.") var tokenizer: String?
    @Option(help: "The prompt text.") var prompt: String
    @Option(help: "Tokens to generate.") var maxNewTokens = 100
    @Option(help: "Sampling temperature; 0 is greedy decoding.") var temperature: Float = 1.0
    @Option(help: "Sample among the k most likely tokens (0: all).") var topK = 0
    @Option(help: "Sample among the most likely tokens holding probability p (1: all).") var topP: Float = 1.0
    @Option(help: "Random seed (same seed, same text).") var seed: UInt64 = 0
    @Option(help: "Weights read while decoding: fp32, or bf16 (half the memory traffic, slightly different numbers).")
    var weights = "fp32"
    @Flag(help: "Print tokens as they are generated.") var stream = false
    @Flag(help: "Keep generating past the end-of-text token.") var ignoreEos = false
    @Flag(help: "Keep the newest tokens when the prompt is longer than the context, instead of failing.") var truncate = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        configureThreads(threads)
        guard ["fp32", "bf16"].contains(weights) else { throw ValidationError("--weights must be fp32 or bf16, got '\(weights)'") }
        var sampler = Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed)
        do { try sampler.validate() } catch { throw ValidationError("\(error)") }
        let (gpt, tok) = try loadModelAndTokenizer(model: model, tokenizer: tokenizer)
        if weights == "bf16" { gpt.roundWeightsToBF16() }
        var ids = tok.encode(prompt)
        if ids.isEmpty { throw ValidationError("--prompt is empty after tokenization") }
        let context = gpt.config.contextLength
        if ids.count + maxNewTokens > context {
            guard truncate else {
                throw ValidationError("prompt (\(ids.count) tokens) + --max-new-tokens (\(maxNewTokens)) exceeds the context of \(context); shorten them or pass --truncate")
            }
            ids = Array(ids.suffix(max(1, context - maxNewTokens)))
        }
        let generator = try Generator(model: gpt, bf16Weights: weights == "bf16")
        var printed = ""
        var generated: [Int32] = []
        if stream { print(prompt, terminator: ""); fflush(nil) }
        let out = try generator.generate(prompt: ids, maxNewTokens: maxNewTokens, sampler: &sampler,
                                         stop: ignoreEos ? nil : tok.endOfText, slidingWindow: truncate) { id in
            guard stream else { return }
            generated.append(id)
            // Hold back a trailing partial UTF-8 character until its remaining bytes arrive.
            let text = tok.decode(generated)
            let stable = text.hasSuffix("\u{FFFD}") ? String(text.dropLast()) : text
            if stable.count > printed.count, stable.hasPrefix(printed) {
                print(stable.dropFirst(printed.count), terminator: ""); fflush(nil)
                printed = stable
            }
        }
        if stream {
            let text = tok.decode(generated)
            if text.hasPrefix(printed) { print(text.dropFirst(printed.count), terminator: "") }
            print("")
        } else {
            print(prompt + tok.decode(out))
        }
    }
}

/// `monolith perplexity`: Hugging Face's sliding-window perplexity over a text file.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity", abstract: "Mean token loss and perplexity of a model over a text file (sliding window).")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Tokenizer directory, when not in the model directory.") var tokenizer: String?
    @Option(help: "UTF-8 text file to score.") var text: String
    @Option(help: "Window length in tokens (default: the model's context).") var context: Int?
    @Option(help: "Tokens between window starts (default: the window length).") var stride: Int?
    @Flag(help: "Decode invalid UTF-8 with U+FFFD instead of failing.") var replaceInvalid = false
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        configureThreads(threads)
        let (gpt, tok) = try loadModelAndTokenizer(model: model, tokenizer: tokenizer)
        guard let data = FileManager.default.contents(atPath: text) else { throw ValidationError("\(text): cannot read the file") }
        let body: String
        if let s = String(data: data, encoding: .utf8) { body = s } else if replaceInvalid {
            body = String(decoding: data, as: UTF8.self)
        } else {
            throw ValidationError("\(text): invalid UTF-8 at byte offset \(CorpusFiles.firstInvalidUTF8(data)); pass --replace-invalid to decode it with U+FFFD")
        }
        let ctx = context ?? gpt.config.contextLength
        let r = try Perplexity.evaluate(model: gpt, tokens: tok.encode(body), context: ctx, stride: stride ?? ctx)
        if json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(r), encoding: .utf8)!)
        } else {
            print(String(format: "%@: mean loss %.6f, perplexity %.4f (%d tokens, %d windows of %d, stride %d)",
                         text as NSString, r.meanLoss, r.perplexity, r.tokens, r.windows, ctx, stride ?? ctx))
        }
    }
}

