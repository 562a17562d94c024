import Foundation
import Hummingbird
import Logging
import MonolithTokenizer
import ServiceLifecycle

/// Runs the server: binds at once (so `/health` answers 503 while `load` runs), loads the engine,
/// and on SIGINT/SIGTERM stops accepting, lets the requests in flight finish, stops the engine
/// and returns.
public func runServer(host: String, port: Int, options: ServerOptions, metrics: ServeMetrics = ServeMetrics(),
                      onReady: @escaping @Sendable (Int) -> Void = { _ in },
                      load: @escaping @Sendable (ServeMetrics) throws -> (Engine, ChatTemplate?)) async throws {
    let holder = EngineHolder()
    let router = makeRouter(holder: holder, options: options, metrics: metrics)
    var logger = Logger(label: "monolith.serve")
    logger.logLevel = .warning
    // A client that sends half a request and stalls is dropped after `idleTimeout` without
    // traffic (Hummingbird leaves a connection alone while its response is being computed).
    let app = Application(router: router, server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(options.idleTimeout * 1000)))),
                          configuration: .init(address: .hostname(host, port: port), serverName: "monolith"),
                          services: [EngineService(holder: holder, metrics: metrics, load: load, onReady: onReady)],
                          onServerRunning: { channel in
                              FileHandle.standardError.write(Data("listening on http://\(host):\(channel.localAddress?.port ?? port)\n".utf8))
                          },
                          logger: logger)
    try await app.runService()
}

/// Loads the engine once the server runs, and stops it after the server has drained.
struct EngineService: Service {
    let holder: EngineHolder
    let metrics: ServeMetrics
    let load: @Sendable (ServeMetrics) throws -> (Engine, ChatTemplate?)
    let onReady: @Sendable (Int) -> Void

    func run() async throws {
        let loader = Task.detached { try load(metrics) }
        let (engine, template) = try await loader.value
        holder.set(engine, template: template)
        onReady(engine.contextPerSequence)
        try? await gracefulShutdown()
        engine.shutdown()
    }
}
