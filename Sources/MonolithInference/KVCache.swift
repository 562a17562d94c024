import MonolithKernels
import MonolithModel

/// Keys and values of every layer for up to `capacity` positions of `batch` sequences.
///
/// Layout per layer: `K` then `V`, each `[B, capacity, C]` with heads interleaved as in the
/// model's `qkv` rows, so prefill copies whole rows and decode appends one row per sequence.
public final class KVCache {
    /// Sequences and positions the cache holds.
    public let batch: Int, capacity: Int
    /// Model width.
    public let channels: Int
    /// Positions filled so far (the same for every sequence).
    public internal(set) var length = 0
    let buffer: FloatBuffer
    let layers: Int

    /// Allocates a cache for `config` (capacity defaults to the context length).
    public init(config: GPTConfig, batch: Int, capacity: Int? = nil) {
        self.batch = batch
        self.capacity = capacity ?? config.contextLength
        channels = config.nEmbd
        layers = config.nLayer
        buffer = FloatBuffer(count: 2 * layers * batch * self.capacity * channels)
    }

    /// Keys of layer `l`: `[B, capacity, C]`.
    public func keys(_ l: Int) -> UnsafeMutablePointer<Float> { buffer.base + (2 * l) * batch * capacity * channels }
    /// Values of layer `l`: `[B, capacity, C]`.
    public func values(_ l: Int) -> UnsafeMutablePointer<Float> { buffer.base + (2 * l + 1) * batch * capacity * channels }

    /// Forgets every position (the buffers are reused).
    public func reset() { length = 0 }
}
