/// The engine's limits (`monolith serve` flags).
public struct EngineOptions: Sendable {
    /// Sequences decoded together (`--max-batch`): the cache's slots.
    public var maxBatch = 8
    /// Sequences waiting for a slot before new ones get 429 (`--max-queue`).
    public var maxQueue = 64
    /// Key/value positions the cache holds in all (`--kv-cache-tokens`), split evenly over the
    /// slots; a sequence's prompt plus `max_tokens` must fit its slot.
    public var kvCacheTokens = 16384
    /// Most prompt positions one step runs (`--prompt-chunk`), so a long prompt does not stall
    /// the sequences already decoding.
    public var promptChunk = 64
    /// Batch-invariant results (`--deterministic`): a sequence's tokens and logprobs do not depend
    /// on what else runs with it (``DecodeSession/batchInvariant``).
    public var deterministic = false
    /// Keep a finished sequence's keys and values in its free slot, and start a new prompt from
    /// the longest prefix the cache already holds (`--no-prefix-cache` turns it off).
    public var prefixCache = true

    public init() {}

    /// Checks the values, naming the flag.
    public func validate() throws {
        if maxBatch < 1 { throw APIError(.internalServerError, "--max-batch must be at least 1, got \(maxBatch)") }
        if maxQueue < 0 { throw APIError(.internalServerError, "--max-queue must be ≥ 0, got \(maxQueue)") }
        if kvCacheTokens < maxBatch { throw APIError(.internalServerError, "--kv-cache-tokens (\(kvCacheTokens)) must be at least --max-batch (\(maxBatch))") }
        if promptChunk < 1 { throw APIError(.internalServerError, "--prompt-chunk must be at least 1, got \(promptChunk)") }
    }
}
