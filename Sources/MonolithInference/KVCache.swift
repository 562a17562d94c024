import MonolithKernels
import MonolithModel

/// Keys and values of every layer for `slots` sequences of up to `capacity` positions each. Every
/// slot has its own length, so sequences of different lengths decode together, and a slot's
/// prefix can be copied into another (a shared prompt computed once).
///
/// Layout per layer: `K` then `V`, each `[slots, capacity, W]` with `W` the key width
/// (`kv_heads · head_dim`: `C` without grouped-query attention) and heads interleaved as in the
/// model's `qkv` rows, so prefill copies whole rows and decode appends one row per sequence.
public final class KVCache {
    /// Sequences and positions the cache holds.
    public let slots: Int, capacity: Int
    /// Floats per position of one layer's keys (and values): `kv_heads · head_dim`.
    public let channels: Int
    /// Positions filled in each slot.
    public internal(set) var lengths: [Int]
    let buffer: FloatBuffer
    let layers: Int

    /// Allocates a cache for `config` (capacity defaults to the context length).
    public init(config: GPTConfig, slots: Int, capacity: Int? = nil) {
        self.slots = slots
        self.capacity = capacity ?? config.contextLength
        channels = config.kvWidth
        layers = config.nLayer
        lengths = [Int](repeating: 0, count: slots)
        buffer = FloatBuffer(count: 2 * layers * slots * self.capacity * channels)
    }

    /// Keys of layer `l`: `[slots, capacity, W]`.
    public func keys(_ l: Int) -> UnsafeMutablePointer<Float> { buffer.base + (2 * l) * slots * capacity * channels }
    /// Values of layer `l`: `[slots, capacity, W]`.
    public func values(_ l: Int) -> UnsafeMutablePointer<Float> { buffer.base + (2 * l + 1) * slots * capacity * channels }
    /// Layer `l` as the block's decode step reads it.
    public func view(_ l: Int) -> LayerKVView { LayerKVView(keys: keys(l), values: values(l), capacity: capacity) }

    /// Copies the first `count` positions of slot `source` into slot `target` in every layer, and
    /// sets `target`'s length to `count`: the two sequences now share that prefix and diverge after.
    public func copyPrefix(from source: Int, to target: Int, count: Int) throws {
        guard (0..<slots).contains(source), (0..<slots).contains(target) else {
            throw ModelInputError("KV slots \(source) → \(target): the cache has slots 0..<\(slots)")
        }
        guard count >= 0, count <= lengths[source] else {
            throw ModelInputError("cannot copy \(count) positions from slot \(source), which holds \(lengths[source])")
        }
        if source != target {
            let c = channels
            for l in 0..<layers {
                for base in [keys(l), values(l)] {
                    (base + target * capacity * c).update(from: base + source * capacity * c, count: count * c)
                }
            }
        }
        lengths[target] = count
    }

    /// Forgets every position of `slot` (nil: of every slot); the memory is reused.
    public func reset(slot: Int? = nil) {
        if let slot { lengths[slot] = 0 } else { lengths = [Int](repeating: 0, count: slots) }
    }
}
