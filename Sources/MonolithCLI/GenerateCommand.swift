import ArgumentParser
import Foundation
import MonolithInference
import MonolithModel
import MonolithTokenizer
import MonolithTraining

/// Loads a model by what the user names (a Hugging Face directory, a `.gguf` file, or a registry
/// name fetched once into the cache) and the tokenizer that comes with it.
/// `weights` is a `--weights` value (nil: native for GGUF files, fp32 otherwise).
func loadModel(_ spec: String, tokenizer: String?, weights: String? = "fp32") throws -> LoadedModel {
    let choice: ModelWeights
    do { choice = try ModelWeights.parse(weights, for: spec) } catch { throw ValidationError("\(error)") }
    return try ModelStore.load(spec, tokenizer: tokenizer, weights: choice, assets: PackageFetch(),
                               log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
}

/// The `--weights` help shared by the commands that run a model.
let weightsHelp: ArgumentHelp = """
    Weights inference reads: native (a GGUF file's quantized matrices with 8-bit activations, as llama.cpp; \
    the default for GGUF), fp32 (dequantized once, exact; the default otherwise), or bf16.
    """

/// ``loadModel(_:tokenizer:)``'s model and tokenizer.
func loadModelAndTokenizer(model dir: String, tokenizer tokDir: String?) throws -> (GPT, any TextTokenizer) {
    let loaded = try loadModel(dir, tokenizer: tokDir)
    return (loaded.model, loaded.tokenizer)
}

/// `monolith generate`: sample text from a model with a KV cache.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a GPT-2 or Llama model (KV-cache decoding).")

    @Option(help: "A Hugging Face directory (config.json + model.safetensors + tokenizer files), a .gguf file, or a registry name (smollm2-135m-instruct).")
    var model: String
    @Option(help: "Tokenizer directory, when the tokenizer is not in the model directory.") var tokenizer: String?
    @Option(help: "The prompt text (with --chat: the user's message).") var prompt: String
    @Flag(help: "Render the prompt as a user message with the model's chat template and stop at its end-of-turn token.") var chat = false
    @Option(help: "Chat template to use instead of detecting the model's: \(ChatTemplate.names.joined(separator: ", ")).")
    var chatTemplate: String?
    @Option(help: "A system message for --chat (default: the template's own, if it has one).") var system: String?
    @Option(help: "Tokens to generate.") var maxNewTokens = 100
    @Option(help: "Sampling temperature; 0 is greedy decoding.") var temperature: Float = 1.0
    @Option(help: "Sample among the k most likely tokens (0: all).") var topK = 0
    @Option(help: "Sample among the most likely tokens holding probability p (1: all).") var topP: Float = 1.0
    @Option(help: "Random seed (same seed, same text).") var seed: UInt64 = 0
    @Option(help: weightsHelp) var weights: String?
    @Flag(help: "Print tokens as they are generated.") var stream = false
    @Flag(help: "Keep generating past the end-of-text token.") var ignoreEos = false
    @Flag(help: "Keep the newest tokens when the prompt is longer than the context, instead of failing.") var truncate = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        configureThreads(threads)
        var sampler = Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed)
        do { try sampler.validate() } catch { throw ValidationError("\(error)") }
        let loaded = try loadModel(model, tokenizer: tokenizer, weights: weights)
        let gpt = loaded.model, tok = loaded.tokenizer
        var text = prompt
        if chat {
            let template: ChatTemplate
            if let chatTemplate { template = try ChatTemplate(name: chatTemplate) } else {
                guard let jinja = loaded.chatTemplate else {
                    throw ValidationError("\(model) has no chat template; pass --chat-template NAME (\(ChatTemplate.names.joined(separator: ", ")))")
                }
                template = try ChatTemplate.detect(jinja: jinja)
            }
            text = try template.render((system.map { [ChatMessage.system($0)] } ?? []) + [.user(prompt)], addGenerationPrompt: true)
        }
        var ids = tok.encodePrompt(text)
        if ids.isEmpty { throw ValidationError("--prompt is empty after tokenization") }
        let context = gpt.config.contextLength
        if ids.count + maxNewTokens > context {
            guard truncate else {
                throw ValidationError("prompt (\(ids.count) tokens) + --max-new-tokens (\(maxNewTokens)) exceeds the context of \(context); shorten them or pass --truncate")
            }
            ids = Array(ids.suffix(max(1, context - maxNewTokens)))
        }
        // A cache for this prompt and reply, not the whole context (SmolLM2's 8192 positions would
        // take 380 MB).
        let generator = try Generator(model: gpt, capacity: truncate ? nil : ids.count + maxNewTokens, weights: loaded.weights)
        var printed = ""
        var generated: [Int32] = []
        if stream { print(text, terminator: ""); fflush(nil) }
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
            print(text + tok.decode(out))
        }
    }
}

/// `monolith perplexity`: Hugging Face's sliding-window perplexity over a text file.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity", abstract: "Mean token loss and perplexity of a model over a text file (sliding window).")

    @Option(help: "A Hugging Face directory, a .gguf file, or a registry name.") var model: String
    @Option(help: "Tokenizer directory, when not in the model directory.") var tokenizer: String?
    @Option(help: "UTF-8 text file to score.") var text: String
    @Option(help: "Window length in tokens (default: the model's context).") var context: Int?
    @Option(help: "Tokens between window starts (default: the window length).") var stride: Int?
    @Option(help: "Whose convention: hf (sliding windows, as transformers' guide) or llama.cpp (chunks of --context, second half scored, BOS as the model adds it; llama-perplexity -c N).")
    var convention = "hf"
    @Flag(help: "Decode invalid UTF-8 with U+FFFD instead of failing.") var replaceInvalid = false
    @Option(help: weightsHelp) var weights: String?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        configureThreads(threads)
        guard ["hf", "llama.cpp"].contains(convention) else { throw ValidationError("--convention must be hf or llama.cpp, got '\(convention)'") }
        let loaded = try loadModel(model, tokenizer: tokenizer, weights: weights)
        let gpt = loaded.model, tok = loaded.tokenizer
        // The native path scores through decode steps; fp32 and bf16 through the training forward.
        let score: Perplexity.Scorer
        if case .native = loaded.weights {
            score = Perplexity.scorer(try DecodeSession(model: gpt, slots: 1, capacity: context ?? gpt.config.contextLength, weights: loaded.weights))
        } else {
            score = Perplexity.scorer(gpt)
        }
        guard let data = FileManager.default.contents(atPath: text) else { throw ValidationError("\(text): cannot read the file") }
        let body: String
        if let s = String(data: data, encoding: .utf8) { body = s } else if replaceInvalid {
            body = String(decoding: data, as: UTF8.self)
        } else {
            throw ValidationError("\(text): invalid UTF-8 at byte offset \(CorpusFiles.firstInvalidUTF8(data)); pass --replace-invalid to decode it with U+FFFD")
        }
        let ctx = context ?? gpt.config.contextLength
        let r = convention == "hf"
            ? try Perplexity.evaluate(score, maxContext: gpt.config.contextLength, tokens: tok.encode(body), context: ctx,
                                      stride: stride ?? ctx)
            : try Perplexity.evaluateChunks(score, maxContext: gpt.config.contextLength, tokens: tok.encodePrompt(body), context: ctx,
                                            bos: tok.addsBOS ? tok.beginningOfText : nil)
        if json {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            print(String(data: try enc.encode(r), encoding: .utf8)!)
        } else {
            print(String(format: "%@: mean loss %.6f, perplexity %.4f (%d tokens, %d windows of %d, stride %d)",
                         text as NSString, r.meanLoss, r.perplexity, r.tokens, r.windows, ctx, stride ?? ctx))
        }
    }
}

