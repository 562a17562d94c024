import Foundation
import Hummingbird
import MonolithKernels

/// Serves one completions or chat request: queues `n` sequences per prompt, then answers with one
/// JSON object or streams server-sent events (`data: {json}\n\n` … `data: [DONE]\n\n`).
struct Completions {
    let engine: Engine
    let request: CompletionRequest
    let model: String
    let chat: Bool
    let id: String
    let created = Int(Date().timeIntervalSince1970)

    init(engine: Engine, request: CompletionRequest, model: String, chat: Bool) {
        self.engine = engine; self.request = request; self.model = model; self.chat = chat
        id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).lowercased()
    }

    /// The choices' sequences in index order: prompt `p`, choice `i` is index `p·n + i`, and
    /// choice `i` samples with seed `seed + i`.
    func submit() throws -> [AsyncStream<SequenceEvent>] {
        var streams: [AsyncStream<SequenceEvent>] = []
        for prompt in request.prompts {
            for i in 0..<request.n {
                var o = request.options
                o.seed = o.seed.map { $0 &+ UInt64(i) }
                streams.append(try engine.submit(prompt: prompt.ids, options: o))
            }
        }
        return streams
    }

    func respond() async throws -> Response {
        let streams = try submit()
        if request.stream { return streamResponse(streams) }
        var choices: [String] = [], usage = (prompt: 0, completion: 0)
        for (index, stream) in streams.enumerated() {
            let r = try await ChoiceResult.collect(stream)
            let prompt = request.prompts[index / request.n]
            if index % request.n == 0 { usage.prompt += r.promptTokens }
            usage.completion += r.completionTokens
            choices.append(choiceJSON(index: index, result: r, prompt: prompt))
        }
        let object = chat ? "chat.completion" : "text_completion"
        return jsonResponse(#"{"choices":[\#(choices.joined(separator: ","))],"created":\#(created),"id":"\#(id)","model":\#(encodeJSON(model)),"object":"\#(object)","usage":\#(encodeJSON(Usage(prompt: usage.prompt, completion: usage.completion)))}"#)
    }

    func choiceJSON(index: Int, result r: ChoiceResult, prompt: (ids: [Int32], text: String)) -> String {
        let finish = encodeJSON(r.finish.rawValue)
        if chat {
            let logprobs = request.options.logprobs == nil ? "null" : encodeJSON(ChatLogprobs(r.generated, tokenizer: engine.tokenizer))
            return #"{"finish_reason":\#(finish),"index":\#(index),"logprobs":\#(logprobs),"message":{"content":\#(encodeJSON(r.text)),"role":"assistant"}}"#
        }
        let echo = request.options.echo
        let logprobs = request.options.logprobs == nil ? "null" : encodeJSON(LegacyLogprobs(
            prompt: echo ? prompt.ids : nil, promptScores: r.promptScores, generated: r.generated, tokenizer: engine.tokenizer))
        return #"{"finish_reason":\#(finish),"index":\#(index),"logprobs":\#(logprobs),"text":\#(encodeJSON((echo ? prompt.text : "") + r.text))}"#
    }

    /// Server-sent events: one chunk per token of any choice as it comes, a chunk with each
    /// choice's `finish_reason`, the usage chunk when asked, then `[DONE]`.
    func streamResponse(_ streams: [AsyncStream<SequenceEvent>]) -> Response {
        let merged = AsyncStream<(Int, SequenceEvent)> { continuation in
            let tasks = streams.enumerated().map { index, stream in
                Task { for await event in stream { continuation.yield((index, event)) } }
            }
            Task {
                for task in tasks { await task.value }
                continuation.finish()
            }
            continuation.onTermination = { _ in tasks.forEach { $0.cancel() } }
        }
        let this = self
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                        body: ResponseBody { writer in
            var usage = (prompt: 0, completion: 0), started = Set<Int>()
            var promptScores: [Int: [TokenLogprob]] = [:]
            for await (index, event) in merged {
                switch event {
                case .prompt(let scores): promptScores[index, default: []] += scores
                case .token(let id, let text, let logprob):
                    var deltaText = text
                    if !this.chat, this.request.options.echo, started.insert(index).inserted {
                        deltaText = this.request.prompts[index / this.request.n].text + text
                    }
                    if this.chat, started.insert(index).inserted {
                        try await writer.write(this.chunk(index: index, delta: #"{"content":"","role":"assistant"}"#, logprobs: "null", finish: "null"))
                    }
                    if deltaText.isEmpty && (logprob == nil || id < 0) { continue }
                    let lp = this.streamLogprobs(logprob.flatMap { id >= 0 ? $0 : nil })
                    let delta = this.chat ? #"{"content":\#(encodeJSON(deltaText))}"# : encodeJSON(deltaText)
                    try await writer.write(this.chunk(index: index, delta: delta, logprobs: lp, finish: "null"))
                case .finished(let reason, let p, let c):
                    if index % this.request.n == 0 { usage.prompt += p }
                    usage.completion += c
                    try await writer.write(this.chunk(index: index, delta: this.chat ? "{}" : #""""#, logprobs: "null",
                                                      finish: encodeJSON(reason.rawValue)))
                case .failed(let error):
                    try await writer.write(ByteBuffer(string: "data: \(String(decoding: error.body, as: UTF8.self))\n\n"))
                }
            }
            if this.request.includeUsage {
                let object = this.chat ? "chat.completion.chunk" : "text_completion"
                try await writer.write(ByteBuffer(string: #"data: {"choices":[],"created":\#(this.created),"id":"\#(this.id)","model":\#(encodeJSON(this.model)),"object":"\#(object)","usage":\#(encodeJSON(Usage(prompt: usage.prompt, completion: usage.completion)))}"# + "\n\n"))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        })
    }

    func streamLogprobs(_ lp: TokenLogprob?) -> String {
        guard let lp, request.options.logprobs != nil else { return "null" }
        if chat { return encodeJSON(ChatLogprobs([lp], tokenizer: engine.tokenizer)) }
        return encodeJSON(LegacyLogprobs(prompt: nil, promptScores: [], generated: [lp], tokenizer: engine.tokenizer))
    }

    func chunk(index: Int, delta: String, logprobs: String, finish: String) -> ByteBuffer {
        let body = chat
            ? #"{"choices":[{"delta":\#(delta),"finish_reason":\#(finish),"index":\#(index),"logprobs":\#(logprobs)}],"created":\#(created),"id":"\#(id)","model":\#(encodeJSON(model)),"object":"chat.completion.chunk"}"#
            : #"{"choices":[{"finish_reason":\#(finish),"index":\#(index),"logprobs":\#(logprobs),"text":\#(delta)}],"created":\#(created),"id":"\#(id)","model":\#(encodeJSON(model)),"object":"text_completion"}"#
        return ByteBuffer(string: "data: \(body)\n\n")
    }
}
