import Prometheus

/// The server's Prometheus metrics (`GET /metrics`), all named `monolith_<name>_<unit>`.
public final class ServeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let promptTokens, cachedPromptTokens, generatedTokens: Counter
    let queueDepth, runningBatch, kvTokensInUse: Gauge
    let timeToFirstToken, interTokenLatency: DurationHistogram

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "monolith", metricName: metric, unitName: unit, helpText: help)
    }

    public init() {
        promptTokens = registry.makeCounter(descriptor: Self.name("prompt_tokens", "total", "Prompt tokens processed."))
        cachedPromptTokens = registry.makeCounter(
            descriptor: Self.name("prompt_tokens_cached", "total", "Prompt tokens whose keys and values were reused from the cache."))
        generatedTokens = registry.makeCounter(descriptor: Self.name("generation_tokens", "total", "Tokens generated."))
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", "depth", "Sequences waiting for a cache slot."))
        runningBatch = registry.makeGauge(descriptor: Self.name("running_batch", "size", "Sequences in the running batch."))
        kvTokensInUse = registry.makeGauge(descriptor: Self.name("kv_cache_tokens", "in_use", "Key/value positions held by running sequences."))
        let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        timeToFirstToken = registry.makeDurationHistogram(
            descriptor: Self.name("time_to_first_token", "seconds", "Time from a request's arrival to its first token."), buckets: buckets)
        interTokenLatency = registry.makeDurationHistogram(
            descriptor: Self.name("inter_token_latency", "seconds", "Time between consecutive tokens of one sequence."), buckets: buckets)
    }

    /// Counts a finished request by HTTP status.
    func request(status: Int) {
        registry.makeCounter(descriptor: Self.name("requests", "total", "Requests by HTTP status."), labels: [("status", String(status))])
            .increment()
    }

    /// The text exposition format.
    public func render() -> String { registry.emitToString() }
}
