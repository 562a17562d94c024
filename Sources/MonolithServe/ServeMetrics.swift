import Prometheus

/// The server's Prometheus metrics (`GET /metrics`), all prefixed `monolith_`.
public final class ServeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let promptTokens, generatedTokens: Counter
    let queueDepth, runningBatch, kvTokensInUse: Gauge
    let timeToFirstToken, interTokenLatency: DurationHistogram

    public init() {
        promptTokens = registry.makeCounter(name: "monolith_prompt_tokens_total", help: "Prompt tokens processed.")
        generatedTokens = registry.makeCounter(name: "monolith_generation_tokens_total", help: "Tokens generated.")
        queueDepth = registry.makeGauge(name: "monolith_queue_depth", help: "Sequences waiting for a cache slot.")
        runningBatch = registry.makeGauge(name: "monolith_running_batch_size", help: "Sequences in the running batch.")
        kvTokensInUse = registry.makeGauge(name: "monolith_kv_cache_tokens_in_use", help: "Key/value positions held by running sequences.")
        let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        timeToFirstToken = registry.makeDurationHistogram(name: "monolith_time_to_first_token_seconds", buckets: buckets,
                                                          help: "Time from a request's arrival to its first token.")
        interTokenLatency = registry.makeDurationHistogram(name: "monolith_inter_token_latency_seconds", buckets: buckets,
                                                           help: "Time between consecutive tokens of one sequence.")
    }

    /// Counts a finished request by HTTP status.
    func request(status: Int) {
        registry.makeCounter(name: "monolith_requests_total", labels: [("status", String(status))], help: "Requests by HTTP status.")
            .increment()
    }

    /// The text exposition format.
    public func render() -> String { registry.emitToString() }
}
