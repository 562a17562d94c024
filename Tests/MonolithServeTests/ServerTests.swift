import Foundation
import Hummingbird
import HummingbirdTesting
import MonolithInference
import MonolithKernels
import MonolithModel
import MonolithServe
import MonolithTokenizer
import Testing

/// The server in-process (HummingbirdTesting) on a small random GPT-2 with a character
/// tokenizer: the routes, the error shapes, streaming, cancellation and continuous batching.
@Suite("monolith serve (in-process)", .serialized)
struct ServerTests {
    static let characters = Array("abcdefghijklmnopqrstuvwxyz .,!?\n".unicodeScalars)

    static func engine(maxBatch: Int = 4, maxQueue: Int = 8, deterministic: Bool = false, prefixCache: Bool = true,
                       metrics: ServeMetrics? = nil) throws -> Engine {
        let model = try GPT(config: GPTConfig(nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: characters.count, contextLength: 128, initStd: 0.5))
        model.initializeWeights(seed: 3)
        var options = EngineOptions()
        options.maxBatch = maxBatch; options.maxQueue = maxQueue; options.kvCacheTokens = 128 * maxBatch; options.promptChunk = 8
        options.deterministic = deterministic; options.prefixCache = prefixCache
        return try Engine(model: model, tokenizer: CharTokenizer(characters: characters), options: options, metrics: metrics)
    }

    static func app(_ engine: Engine?, options: ServerOptions = ServerOptions()) -> some ApplicationProtocol {
        Application(router: makeRouter(holder: EngineHolder(engine), options: options, metrics: ServeMetrics()))
    }

    static func json(_ body: ByteBuffer) throws -> JSONValue { try JSONValue.parse(String(buffer: body), file: "response") }

    static func post(_ client: some TestClientProtocol, _ path: String, _ body: String) async throws -> (HTTPResponse.Status, JSONValue?, String) {
        try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) {
            ($0.status, try? json($0.body), String(buffer: $0.body))
        }
    }

    @Test("completions: greedy text equals the Generator's, usage counts tokens")
    func completion() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        let tok = CharTokenizer(characters: Self.characters)
        var sampler = Sampler(temperature: 0)
        let want = try Generator(model: engine.model, capacity: 64).generate(prompt: tok.encode("hello there"), maxNewTokens: 10, sampler: &sampler)
        try await Self.app(engine).test(.router) { client in
            let (status, json, _) = try await Self.post(client, "/v1/completions", #"{"prompt":"hello there","max_tokens":10,"temperature":0,"ignore_eos":true}"#)
            #expect(status == .ok)
            #expect(json?["choices"]?.array?.first?["text"]?.string == tok.decode(want))
            #expect(json?["usage"]?["completion_tokens"]?.int == 10 && json?["usage"]?["prompt_tokens"]?.int == 11)
        }
    }

    @Test("errors are OpenAI error objects with the right status and field")
    func errors() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        var options = ServerOptions(); options.apiKey = "k"; options.maxBodyBytes = 256
        try await Self.app(engine, options: options).test(.router) { client in
            let unauthorized = try await Self.post(client, "/v1/completions", #"{"prompt":"a"}"#)
            #expect(unauthorized.0 == .unauthorized && unauthorized.1?["error"]?["type"]?.string == "authentication_error")
            let cases: [(String, HTTPResponse.Status, String?)] = [
                (#"{"prompt":"a","max_tokens":"x"}"#, .badRequest, "max_tokens"),
                (#"{"prompt":"a","temperature":-1}"#, .badRequest, "temperature"),
                (#"{"prompt":[1,2,"x"]}"#, .badRequest, "prompt"),
                (#"{"prompt":"a","max_tokens":500}"#, .badRequest, "max_tokens"),
                (#"{"prompt":"a","model":"other"}"#, .notFound, "model"),
                (#"{"prompt":"a","stop":3}"#, .badRequest, "stop"),
                (#"{"prompt":[9999]}"#, .badRequest, "prompt"),
                (#"{"prompt":"a""#, .badRequest, nil),
                ("[1]", .badRequest, nil),
                (String(repeating: " ", count: 300) + "{}", .contentTooLarge, nil),
            ]
            for (body, status, param) in cases {
                let r = try await client.execute(uri: "/v1/completions", method: .post, headers: [.authorization: "Bearer k"],
                                                 body: ByteBuffer(string: body)) { ($0.status, try? Self.json($0.body)) }
                #expect(r.0 == status, "\(body)")
                #expect(r.1?["error"]?["message"]?.string != nil, "\(body)")
                #expect(r.1?["error"]?["param"]?.string == param, "\(body)")
            }
        }
    }

    @Test("/health is 503 while the model loads, 200 after")
    func health() async throws {
        try await Self.app(nil).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .serviceUnavailable) }
            let r = try await Self.post(client, "/v1/completions", #"{"prompt":"a"}"#)
            #expect(r.0 == .serviceUnavailable)
        }
        let engine = try Self.engine()
        defer { engine.shutdown() }
        try await Self.app(engine).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("streaming sends text chunks, a finish chunk, usage, then [DONE], equal to the plain response")
    func streaming() async throws {
        let engine = try Self.engine()
        defer { engine.shutdown() }
        try await Self.app(engine).test(.router) { client in
            let plain = try await Self.post(client, "/v1/completions", #"{"prompt":"abc","max_tokens":12,"temperature":0,"ignore_eos":true}"#)
            let sse = try await Self.post(client, "/v1/completions",
                                          #"{"prompt":"abc","max_tokens":12,"temperature":0,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}"#).2
            let events = sse.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") })
            #expect(events.last == "data: [DONE]")
            let objects = try events.dropLast().map { try JSONValue.parse(String($0.dropFirst(6)), file: "sse") }
            let text = objects.compactMap { $0["choices"]?.array?.first?["text"]?.string }.joined()
            #expect(text == plain.1?["choices"]?.array?.first?["text"]?.string)
            #expect(objects.contains { $0["choices"]?.array?.first?["finish_reason"]?.string == "length" })
            #expect(objects.last?["usage"]?["completion_tokens"]?.int == 12)
        }
    }

    @Test("a cancelled sequence frees its slot at once; the queue refuses beyond --max-queue with 429")
    func cancellationAndQueue() async throws {
        let engine = try Self.engine(maxBatch: 1, maxQueue: 1)
        defer { engine.shutdown() }
        var o = SamplingOptions(); o.maxTokens = 100; o.ignoreEOS = true
        let prompt = CharTokenizer(characters: Self.characters).encode("abc")
        var first: AsyncStream<SequenceEvent>? = try engine.submit(prompt: prompt, options: o)
        var it = first!.makeAsyncIterator()
        _ = await it.next()
        // The first runs; the second waits; a third finds the queue full.
        let second = try engine.submit(prompt: prompt, options: o)
        var refused: APIError? = nil
        do { _ = try engine.submit(prompt: prompt, options: o) } catch let e as APIError { refused = e }
        #expect(refused?.status == .tooManyRequests)
        // Dropping the first stream cancels it: the second gets its slot.
        it = AsyncStream<SequenceEvent> { $0.finish() }.makeAsyncIterator()
        first = nil
        var tokens = 0, reason: FinishReason? = nil
        for await event in second {
            if case .token = event { tokens += 1 }
            if case .finished(let r, _, _) = event { reason = r }
        }
        #expect(tokens == 100 && reason == .length)
        #expect(engine.load.running == 0 && engine.load.queued == 0)
    }

    /// 24 greedy tokens after `text`, with their logprobs.
    static func greedy(_ engine: Engine, _ text: String) async throws -> [TokenLogprob] {
        var o = SamplingOptions(); o.maxTokens = 24; o.temperature = 0; o.ignoreEOS = true; o.logprobs = 2
        var out: [TokenLogprob] = []
        for await event in try engine.submit(prompt: CharTokenizer(characters: characters).encode(text), options: o) {
            if case .token(_, _, let lp?) = event { out.append(lp) }
        }
        return out
    }

    @Test("--deterministic: a greedy sequence alone and among 15 others gives identical tokens and logprobs")
    func batchInvariance() async throws {
        let engine = try Self.engine(maxBatch: 16, maxQueue: 16, deterministic: true)
        defer { engine.shutdown() }
        let alone = try await Self.greedy(engine, "the sky is")
        let together = try await withThrowingTaskGroup(of: (Int, [TokenLogprob]).self) { group in
            for i in 0..<16 { group.addTask { (i, try await Self.greedy(engine, i == 3 ? "the sky is" : "other prompt \(i)")) } }
            var results: [Int: [TokenLogprob]] = [:]
            for try await (i, r) in group { results[i] = r }
            return results[3]!
        }
        #expect(alone.map(\.token) == together.map(\.token))
        #expect(alone.map(\.logprob) == together.map(\.logprob))
    }

    @Test("prefix cache: a prompt that starts like a finished sequence reuses its positions, with identical tokens and logprobs")
    func prefixCache() async throws {
        let metrics = ServeMetrics()
        let engine = try Self.engine(deterministic: true, metrics: metrics), fresh = try Self.engine(deterministic: true, prefixCache: false)
        defer { engine.shutdown(); fresh.shutdown() }
        let tok = CharTokenizer(characters: Self.characters)
        let first = "the sky is blue and", second = "the sky is blue and the sea is"
        let a = try await Self.greedy(engine, first)
        // The finished sequence's slot holds its prompt and every generated token but the last.
        let held = tok.encode(first) + a.dropLast().map(\.token), prompt = tok.encode(second)
        let shared = zip(held, prompt).prefix { $0 == $1 }.count
        let reused = try await Self.greedy(engine, second), recomputed = try await Self.greedy(fresh, second)
        #expect(reused.map(\.token) == recomputed.map(\.token))
        #expect(reused.map(\.logprob) == recomputed.map(\.logprob))
        // The same prompt again: all but its last token come from the cache.
        let again = try await Self.greedy(engine, second)
        #expect(again.map(\.logprob) == recomputed.map(\.logprob))
        #expect(metrics.render().contains("monolith_prompt_tokens_cached_total \(shared + prompt.count - 1)\n"))
    }
}
