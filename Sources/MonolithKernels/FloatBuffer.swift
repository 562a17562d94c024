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
///
/// Allocations of 1 MiB and more are anonymous memory maps: the kernel hands out zero pages on
/// first touch, so a buffer costs resident memory only for the parts that are used (a model
/// whose quantized matrices stay in their file never touches their fp32 slots).
public final class FloatBuffer: @unchecked Sendable {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int

    /// Bytes of a mapped allocation (0: allocated with `posix_memalign`).
    private let mappedBytes: Int

    /// Allocates `count` zeroed floats.
    public init(count: Int) {
        self.count = count
        let bytes = max(64, count * MemoryLayout<Float>.stride)
        if bytes >= 1 << 20 {
            // Page-aligned, zero-filled on demand.
            guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
                fatalError("out of memory mapping \(bytes) bytes")
            }
            mappedBytes = bytes
            base = raw.bindMemory(to: Float.self, capacity: count)
            return
        }
        var raw: UnsafeMutableRawPointer?
        // Not inside precondition(): -Ounchecked drops the whole expression, call included.
        let rc = posix_memalign(&raw, 64, bytes)
        guard rc == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
        mappedBytes = 0
        base = raw.bindMemory(to: Float.self, capacity: max(1, count))
        base.initialize(repeating: 0, count: count)
    }

    deinit {
        if mappedBytes > 0 { munmap(base, mappedBytes) } else { free(base) }
    }

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
