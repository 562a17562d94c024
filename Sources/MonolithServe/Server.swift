import Foundation
import Hummingbird
import MonolithKernels
import MonolithTokenizer

/// What the server needs besides the engine: its name for the model, the chat template, and limits.
public struct ServerOptions: Sendable {
    /// The model's id in `/v1/models` (requests naming another model get 404).
    public var modelName = "monolith"
    /// The chat template for `/v1/chat/completions`, instead of the model's (``EngineHolder``).
    public var chatTemplate: ChatTemplate? = nil
    /// Bearer key required on `/v1/*` and the tokenizer endpoints (nil: none).
    public var apiKey: String? = nil
    /// Largest request body (413 beyond).
    public var maxBodyBytes = 4 << 20
    /// Largest `max_tokens` a request may ask for.
    public var maxTokensLimit = 4096
    /// Seconds a connection may send nothing while its request is incomplete (or between
    /// requests) before it is closed: a client that sends half a request and stalls.
    public var idleTimeout = 60.0
    public init() {}
}

/// The engine once loaded (`/health` answers 503 before), with the model's own chat template.
public final class EngineHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Engine?, template: ChatTemplate?
    public init(_ engine: Engine? = nil, template: ChatTemplate? = nil) { value = engine; self.template = template }
    public var engine: Engine? { lock.lock(); defer { lock.unlock() }; return value }
    public var chatTemplate: ChatTemplate? { lock.lock(); defer { lock.unlock() }; return template }
    public func set(_ engine: Engine, template: ChatTemplate?) { lock.lock(); value = engine; self.template = template; lock.unlock() }
}

/// The OpenAI-compatible routes: `/v1/completions`, `/v1/chat/completions`, `/v1/models`,
/// `/health`, `/metrics`, `/tokenize`, `/detokenize`. Every error is OpenAI's error JSON.
public func makeRouter(holder: EngineHolder, options: ServerOptions, metrics: ServeMetrics) -> Router<BasicRequestContext> {
    let router = Router()
    let created = Int(Date().timeIntervalSince1970)

    /// Runs `body` with the loaded engine and the parsed JSON body, turning every error into
    /// OpenAI's error JSON and counting the request by status.
    @Sendable func api(_ request: Request, parse: Bool = true,
                       _ body: @escaping @Sendable (Engine, RequestFields) async throws -> Response) async -> Response {
        let response: Response
        do {
            if let key = options.apiKey, request.headers[.authorization] != "Bearer \(key)" {
                throw APIError(.unauthorized, "missing or wrong API key (send 'Authorization: Bearer KEY')", type: "authentication_error",
                               code: "invalid_api_key")
            }
            guard let engine = holder.engine else { throw APIError(.serviceUnavailable, "the model is still loading", type: "server_error") }
            var fields = RequestFields(.object([]))
            if parse {
                let buffer: ByteBuffer
                do { buffer = try await request.body.collect(upTo: options.maxBodyBytes) } catch {
                    throw APIError(.contentTooLarge, "the request body is larger than \(options.maxBodyBytes) bytes")
                }
                fields = try RequestFields(Data(buffer: buffer))
            }
            response = try await body(engine, fields)
        } catch let e as APIError {
            response = errorResponse(e)
        } catch {
            response = errorResponse(APIError(.internalServerError, "\(error)", type: "server_error"))
        }
        metrics.request(status: response.status.code)
        return response
    }

    @Sendable func checkModel(_ name: String?) throws {
        if let name, name != options.modelName {
            throw APIError(.notFound, "the model '\(name)' does not exist; this server has '\(options.modelName)'", param: "model",
                           code: "model_not_found")
        }
    }

    router.get("/health") { _, _ -> Response in
        holder.engine == nil ? jsonResponse(#"{"status":"loading"}"#, status: .serviceUnavailable) : jsonResponse(#"{"status":"ok"}"#)
    }
    router.get("/metrics") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
    }
    router.get("/v1/models") { request, _ in
        await api(request, parse: false) { _, _ in
            jsonResponse(#"{"data":[{"created":\#(created),"id":"\#(options.modelName)","object":"model","owned_by":"monolith"}],"object":"list"}"#)
        }
    }
    router.post("/tokenize") { request, _ in
        await api(request) { engine, f in
            guard let content = try f.string("content") else { throw APIError.invalid("content", "'content' is required") }
            let ids = try f.bool("add_special") == true ? engine.tokenizer.encodePrompt(content) : engine.tokenizer.encode(content)
            return jsonResponse(encodeJSON(["tokens": ids]))
        }
    }
    router.post("/detokenize") { request, _ in
        await api(request) { engine, f in
            guard let list = f["tokens"]?.array, case let ids = list.compactMap(\.int), ids.count == list.count else {
                throw APIError.invalid("tokens", "'tokens' must be a list of token ids")
            }
            let v = engine.model.config.vocabSize
            if let bad = ids.first(where: { $0 < 0 || $0 >= v }) { throw APIError.invalid("tokens", "token id \(bad) is outside 0..<\(v)") }
            return jsonResponse(encodeJSON(["content": engine.tokenizer.decode(ids.map { Int32($0) })]))
        }
    }
    router.post("/v1/completions") { request, _ in
        await api(request) { engine, f in
            let prompts = try CompletionRequest.prompts(f, tokenizer: engine.tokenizer)
            let r = try CompletionRequest(fields: f, prompts: prompts, defaultMaxTokens: 16, maxTokensLimit: options.maxTokensLimit, chat: false)
            try checkModel(r.model)
            return try await Completions(engine: engine, request: r, model: options.modelName, chat: false).respond()
        }
    }
    router.post("/v1/chat/completions") { request, _ in
        await api(request) { engine, f in
            let prompts = try CompletionRequest.chatPrompt(f, template: options.chatTemplate ?? holder.chatTemplate,
                                                           tokenizer: engine.tokenizer)
            // Without max_tokens a chat reply may fill what is left of its slot.
            let room = max(0, min(options.maxTokensLimit, engine.contextPerSequence - prompts[0].ids.count))
            let r = try CompletionRequest(fields: f, prompts: prompts, defaultMaxTokens: room, maxTokensLimit: options.maxTokensLimit,
                                          chat: true)
            try checkModel(r.model)
            return try await Completions(engine: engine, request: r, model: options.modelName, chat: true).respond()
        }
    }
    return router
}

func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
}

func errorResponse(_ e: APIError) -> Response {
    var headers: HTTPFields = [.contentType: "application/json"]
    if e.status == .tooManyRequests { headers[.retryAfter] = "1" }
    return Response(status: e.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: e.body)))
}
