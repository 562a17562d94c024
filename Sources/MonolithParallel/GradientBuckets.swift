/// Data-parallel gradient all-reduce in buckets, overlapped with the backward pass.
///
/// The flat gradient buffer is cut into buckets of about 25 MiB (PyTorch DDP's default), from the
/// end backwards: backward produces gradients in reverse layer order (the final LayerNorm first,
/// the embedding last), so the highest buckets are complete first. As the backward pass reports
/// progress with ``gradientsReady(from:)``, each complete bucket's non-blocking all-reduce is
/// started while the remaining layers are still computing; ``wait()`` before the optimizer step
/// finishes them all.
///
/// Open MPI advances non-blocking collectives only inside MPI calls, so calling
/// ``progress()`` now and then during backward (e.g. after each block) is what makes the overlap
/// real; `gradientsReady` does it too.
///
/// ```swift
/// let buckets = GradientBuckets(count: layout.count, group: groups.data,
///                               boundaries: layout.tensors.map(\.offset))
/// for block in blocks.reversed() {
///     block.backward(…)
///     try buckets.gradientsReady(from: layout.blocks[block.index].ln1w, in: gradients)
/// }
/// try buckets.wait(gradients, scale: 1 / Float(dp))   // every rank now holds the mean gradient
/// ```
///
/// Every rank must report the same offsets in the same order, so that the all-reduces are issued in
/// the same order everywhere (MPI's rule); with identical models that holds by construction.
public final class GradientBuckets {
    /// The buckets in launch order: highest offsets first.
    public let buckets: [Range<Int>]
    private let group: any Communicator
    private var requests: [(any CommRequest)?]
    private var launched = 0

    /// Buckets for a flat buffer of `count` floats. A bucket ends on one of `boundaries` (e.g. tensor
    /// or layer starts) when given, so that it is launched as soon as its last tensor is done, and
    /// holds at least `bucketBytes` except the lowest.
    public init(count: Int, group: any Communicator, bucketBytes: Int = 25 << 20, boundaries: [Int] = []) {
        let target = max(1, bucketBytes / MemoryLayout<Float>.stride)
        let cuts = Set(boundaries.filter { $0 > 0 && $0 < count }).sorted()
        var out: [Range<Int>] = []
        var upper = count
        while upper > 0 {
            let want = upper - target
            // The largest boundary at or below `want` (bucket ≥ target), else the start.
            var lower = 0
            if want > 0 {
                lower = cuts.isEmpty ? want : (cuts.last { $0 <= want } ?? 0)
            }
            out.append(lower..<upper)
            upper = lower
        }
        buckets = out
        self.group = group
        requests = Array(repeating: nil, count: out.count)
    }

    /// Number of buckets started and not yet waited for.
    public var inFlight: Int { requests.lazy.filter { $0 != nil }.count }

    /// Backward has finished every gradient at offsets `≥ offset` of `gradients`: starts the
    /// all-reduce of every bucket lying entirely above it (in launch order), then progresses the
    /// ones in flight.
    public func gradientsReady(from offset: Int, in gradients: UnsafeMutableBufferPointer<Float>) throws(CommError) {
        guard group.size > 1 else { return }
        while launched < buckets.count && buckets[launched].lowerBound >= offset {
            let r = buckets[launched]
            requests[launched] = try group.startAllReduce(UnsafeMutableBufferPointer(rebasing: gradients[r]), op: .sum)
            launched += 1
        }
        try progress()
    }

    /// Lets in-flight all-reduces advance (Open MPI progresses them only inside MPI calls).
    public func progress() throws(CommError) {
        for case let request? in requests { _ = try request.test() }
    }

    /// Starts whatever is left, waits for every bucket, multiplies by `scale` (pass `1/dp` for the
    /// mean), and resets for the next step.
    public func wait(_ gradients: UnsafeMutableBufferPointer<Float>, scale: Float = 1) throws(CommError) {
        if group.size > 1 {
            try gradientsReady(from: 0, in: gradients)
            for i in requests.indices {
                try requests[i]?.wait()
                requests[i] = nil
            }
        }
        if scale != 1 {
            for r in buckets { for i in r { gradients[i] *= scale } }
        }
        launched = 0
    }
}
