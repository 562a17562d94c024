#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-byte-aligned, zero-initialized float allocation that lives as long as its owner.
///
/// Every large tensor in Monolith (parameters, gradients, moments, activations) is one of these,
/// allocated once and reused: first touch of fresh memory costs about 3 s/GiB on these machines,
/// so per-step allocation would cost more than the math.
public final class FloatBuffer: @unchecked Sendable {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int

    /// Allocates `count` zeroed floats.
    public init(count: Int) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(64, count * MemoryLayout<Float>.stride)
        // Not inside precondition(): -Ounchecked drops the whole expression, call included.
        let rc = posix_memalign(&raw, 64, bytes)
        guard rc == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
        base = raw.bindMemory(to: Float.self, capacity: max(1, count))
        base.initialize(repeating: 0, count: count)
    }

    deinit { free(base) }

    /// Sets every element to zero.
    public func zero(pool: WorkerPool = .shared) {
        let base = base
        pool.parallelFor(count, alignment: 1024) { r in (base + r.lowerBound).update(repeating: 0, count: r.count) }
    }

    /// A view of `count` floats starting at `offset`.
    @inlinable
    public subscript(offset: Int, count: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base + offset, count: count)
    }

    /// Copies all elements into an array (for tests and serialization).
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

/// Rounds a float count up to 16, so each tensor carved from one buffer starts 64-byte aligned.
@inlinable
public func alignedCount(_ x: Int) -> Int { (x + 15) / 16 * 16 }

extension FloatBuffer {
    /// Consecutive 64-byte-aligned pieces of `sizes` floats from the start of the buffer (which
    /// must hold `sizes.map(alignedCount).reduce(0, +)` floats): how every activation set carves
    /// its tensors out of one allocation.
    public func carve(_ sizes: [Int]) -> [UnsafeMutablePointer<Float>] {
        var cursor = base
        let pieces = sizes.map { k -> UnsafeMutablePointer<Float> in defer { cursor += alignedCount(k) }; return cursor }
        precondition(cursor <= base + count, "carving \(sizes) overruns a buffer of \(count) floats")
        return pieces
    }
}
