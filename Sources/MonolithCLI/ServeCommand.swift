import ArgumentParser
import Foundation
import MonolithServe
import MonolithTokenizer

/// `monolith serve`: the OpenAI-compatible HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over the OpenAI API (/v1/completions, /v1/chat/completions) with continuous batching.")

    @Option(help: "A Hugging Face directory, a .gguf file, or a registry name (smollm2-135m-instruct).") var model: String
    @Option(help: "Tokenizer directory, when not in the model directory.") var tokenizer: String?
    @Option(help: "Address to bind (loopback by default).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 8000
    @Option(help: "Sequences decoded together (cache slots).") var maxBatch = 8
    @Option(help: "Requests waiting for a slot before new ones get 429.") var maxQueue = 64
    @Option(help: "Key/value positions of the cache in all, split evenly over the slots (default: 2048 per slot).")
    var kvCacheTokens: Int?
    @Option(help: "Most prompt positions run per step, so long prompts do not stall running sequences.") var promptChunk = 64
    @Option(help: "Largest max_tokens a request may ask for.") var maxTokensLimit = 4096
    @Option(help: "Require 'Authorization: Bearer KEY' on the API.") var apiKey: String?
    @Option(help: "The model's id in /v1/models (default: the --model argument's file name).") var servedModelName: String?
    @Option(help: "Chat template instead of the model's: \(ChatTemplate.names.joined(separator: ", ")).") var chatTemplate: String?
    @Option(help: weightsHelp) var weights: String?
    @Flag(help: "Batch-invariant results: a request's tokens and logprobs do not depend on what runs with it (fp32/bf16 decode one row at a time).")
    var deterministic = false
    @Flag(help: "Do not reuse a finished sequence's keys and values for a new prompt that starts the same way.")
    var noPrefixCache = false
    @Option(help: "Seconds a connection may stay silent with its request incomplete before it is closed.") var idleTimeout = 60.0
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func run() async throws {
        configureThreads(threads)
        var engineOptions = EngineOptions()
        engineOptions.maxBatch = maxBatch; engineOptions.maxQueue = maxQueue; engineOptions.promptChunk = promptChunk
        engineOptions.deterministic = deterministic; engineOptions.prefixCache = !noPrefixCache
        engineOptions.kvCacheTokens = kvCacheTokens ?? 2048 * maxBatch
        do { try engineOptions.validate() } catch let e as APIError { throw ValidationError(e.message) }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        var options = ServerOptions()
        options.modelName = servedModelName ?? ((model as NSString).lastPathComponent as NSString).deletingPathExtension
        options.apiKey = apiKey
        options.maxTokensLimit = maxTokensLimit
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive, got \(idleTimeout)") }
        options.idleTimeout = idleTimeout
        // Load the tokenizer-side facts up front so a bad --chat-template fails before binding.
        if let chatTemplate { options.chatTemplate = try ChatTemplate(name: chatTemplate) }
        let (spec, tok, w, named, limits) = (model, tokenizer, weights, chatTemplate, engineOptions)
        try await runServer(host: host, port: port, options: options, onReady: { context in
            FileHandle.standardError.write(Data("ready: \(spec), \(context) positions per sequence\n".utf8))
        }) { metrics in
            let loaded = try loadModel(spec, tokenizer: tok, weights: w)
            // The model's template, when it ships one Monolith knows (--chat-template overrides it).
            let template = named == nil ? loaded.chatTemplate.flatMap { try? ChatTemplate.detect(jinja: $0) } : nil
            let engine = try Engine(model: loaded.model, weights: loaded.weights, tokenizer: loaded.tokenizer, options: limits,
                                    metrics: metrics)
            return (engine, template)
        }
    }
}
