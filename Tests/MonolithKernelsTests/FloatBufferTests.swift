import MonolithKernels
import Testing

/// The aligned float allocation every tensor lives in.
///
/// Kernels and GEMM assume 64-byte alignment for full-cache-line vector loads, and gradient
/// buffers are used straight after allocation or after `zero()` as accumulators, so a buffer that
/// is not fully zeroed adds stale values into the first step's gradients.
@Suite("FloatBuffer")
struct FloatBufferTests {
    @Test("allocation is 64-byte aligned and zeroed", arguments: [0, 1, 17, 4096 + 3])
    func alignedAndZeroed(count: Int) {
        let buffer = FloatBuffer(count: count)
        #expect(Int(bitPattern: buffer.base) % 64 == 0)
        #expect(buffer.count == count)
        #expect(buffer.toArray() == zeros(count))
    }

    /// `zero()` splits the buffer in 1024-float chunks across the pool; lengths around that size
    /// leave a partial chunk on the last thread.
    @Test("zero clears every element on any pool", arguments: [1, 1023, 1025, 5000], [1, 3])
    func zeroClearsEverything(count: Int, threads: Int) {
        let buffer = FloatBuffer(count: count)
        for i in 0..<count { buffer.base[i] = Float(i + 1) }
        buffer.zero(pool: TestPools.pool(threads: threads))
        expectIdentical(buffer.toArray(), zeros(count), "after zero()")
    }

    @Test("subscript views the requested window of the allocation")
    func subscriptView() {
        let buffer = FloatBuffer(count: 40)
        for i in 0..<40 { buffer.base[i] = Float(i) }
        let view = buffer[13, 16]
        #expect(view.baseAddress == buffer.base + 13 && view.count == 16)
        #expect(Array(view) == (13..<29).map(Float.init))
        view[0] = -1
        #expect(buffer.base[13] == -1)
    }
}
