import MonolithKernels
import MonolithTokenizer

/// A `/v1/completions` or `/v1/chat/completions` request, read as OpenAI (and vLLM) read it.
struct CompletionRequest {
    /// The prompts, as token ids, with their text when they came as text.
    var prompts: [(ids: [Int32], text: String)]
    var options: SamplingOptions
    /// Choices per prompt.
    var n: Int
    var stream: Bool, includeUsage: Bool
    /// The model named, if any.
    var model: String?

    /// The fields both endpoints share. `maxTokensLimit` caps `max_tokens`.
    init(fields f: RequestFields, prompts: [(ids: [Int32], text: String)], defaultMaxTokens: Int, maxTokensLimit: Int,
         chat: Bool) throws {
        self.prompts = prompts
        model = try f.string("model")
        var o = SamplingOptions()
        let maxTokens = try chat ? (f.integer("max_completion_tokens") ?? f.integer("max_tokens")) : f.integer("max_tokens")
        o.maxTokens = maxTokens ?? defaultMaxTokens
        guard o.maxTokens >= 0 else { throw APIError.invalid("max_tokens", "'max_tokens' must be ≥ 0, got \(o.maxTokens)") }
        guard o.maxTokens <= maxTokensLimit else {
            throw APIError.invalid("max_tokens", "'max_tokens' is \(o.maxTokens); this server allows at most \(maxTokensLimit)")
        }
        if let t = try f.number("temperature") {
            guard t >= 0, t <= 100 else { throw APIError.invalid("temperature", "'temperature' must be in [0, 100], got \(t)") }
            o.temperature = Float(t)
        }
        if let p = try f.number("top_p") {
            guard p > 0, p <= 1 else { throw APIError.invalid("top_p", "'top_p' must be in (0, 1], got \(p)") }
            o.topP = Float(p)
        }
        if let k = try f.integer("top_k") {
            guard k >= -1 else { throw APIError.invalid("top_k", "'top_k' must be ≥ -1 (-1 or 0: off), got \(k)") }
            o.topK = max(0, k)
        }
        if let s = try f.integer("seed") { o.seed = UInt64(bitPattern: Int64(s)) }
        o.stop = try f.strings("stop") ?? []
        guard o.stop.count <= 16 else { throw APIError.invalid("stop", "at most 16 stop strings, got \(o.stop.count)") }
        o.ignoreEOS = try f.bool("ignore_eos") ?? false
        if chat {
            if try f.bool("logprobs") == true {
                let top = try f.integer("top_logprobs") ?? 0
                guard (0...20).contains(top) else { throw APIError.invalid("top_logprobs", "'top_logprobs' must be in 0...20, got \(top)") }
                o.logprobs = top
            }
        } else {
            if let k = try f.integer("logprobs") {
                guard (0...20).contains(k) else { throw APIError.invalid("logprobs", "'logprobs' must be in 0...20, got \(k)") }
                o.logprobs = k
            }
            o.echo = try f.bool("echo") ?? false
        }
        options = o
        n = try f.integer("n") ?? 1
        guard (1...16).contains(n) else { throw APIError.invalid("n", "'n' must be in 1...16, got \(n)") }
        stream = try f.bool("stream") ?? false
        includeUsage = try f.object("stream_options")?.bool("include_usage") ?? false
    }

    /// `prompt` of a completions request: a string, a list of strings, a list of token ids, or a
    /// list of such lists.
    static func prompts(_ f: RequestFields, tokenizer: any TextTokenizer) throws -> [(ids: [Int32], text: String)] {
        guard let p = f["prompt"] else { throw APIError.invalid("prompt", "'prompt' is required") }
        func ids(_ list: [JSONValue]) -> [Int32]? {
            let ints = list.compactMap(\.int)
            guard ints.count == list.count, ints.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else { return nil }
            return ints.map { Int32($0) }
        }
        if let s = p.string { return [(tokenizer.encodePrompt(s), s)] }
        guard let list = p.array, !list.isEmpty else {
            throw APIError.invalid("prompt", "'prompt' must be a string, a list of strings, a list of token ids or a list of such lists")
        }
        if let tokens = ids(list) { return [(tokens, tokenizer.decode(tokens))] }
        let strings = list.compactMap(\.string)
        if strings.count == list.count { return strings.map { (tokenizer.encodePrompt($0), $0) } }
        let lists = list.compactMap { $0.array.flatMap(ids) }
        if lists.count == list.count { return lists.map { ($0, tokenizer.decode($0)) } }
        throw APIError.invalid("prompt", "'prompt' must be a string, a list of strings, a list of token ids or a list of such lists")
    }

    /// `messages` of a chat request, rendered with `template`.
    static func chatPrompt(_ f: RequestFields, template: ChatTemplate?, tokenizer: any TextTokenizer) throws -> [(ids: [Int32], text: String)] {
        guard let list = f["messages"]?.array, !list.isEmpty else {
            throw APIError.invalid("messages", "'messages' must be a non-empty list of {role, content} objects")
        }
        let messages: [ChatMessage] = try list.enumerated().map { i, m in
            guard let role = m["role"]?.string else { throw APIError.invalid("messages[\(i)].role", "messages[\(i)] needs a string 'role'") }
            guard ["system", "user", "assistant", "developer"].contains(role) else {
                throw APIError.invalid("messages[\(i)].role", "messages[\(i)].role must be system, user or assistant, got '\(role)'")
            }
            if let s = m["content"]?.string { return ChatMessage(role: role == "developer" ? "system" : role, content: s) }
            // Content parts: the text ones, concatenated.
            guard let parts = m["content"]?.array else {
                throw APIError.invalid("messages[\(i)].content", "messages[\(i)].content must be a string or a list of text parts")
            }
            let texts = try parts.map { part -> String in
                guard part["type"]?.string == "text", let t = part["text"]?.string else {
                    throw APIError.invalid("messages[\(i)].content", "only text content parts are supported")
                }
                return t
            }
            return ChatMessage(role: role == "developer" ? "system" : role, content: texts.joined())
        }
        guard let template else {
            throw APIError(.badRequest, "this model has no chat template; start the server with --chat-template NAME", param: "messages")
        }
        let text: String
        do { text = try template.render(messages, addGenerationPrompt: true) } catch {
            throw APIError.invalid("messages", "\(error)")
        }
        return [(tokenizer.encodePrompt(text), text)]
    }
}
