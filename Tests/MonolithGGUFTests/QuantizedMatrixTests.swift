import Foundation
import MonolithGGUF
import MonolithKernels
import MonolithTestSupport
import Testing

/// `Tests/Fixtures/gguf/quant_dot.gguf`, written by scripts/make_quant_dot_fixtures.py: inputs,
/// their Q8_0/Q8_1 quantization as llama.cpp's x86 CPU backend computes it, raw Q4_0/Q4_1/Q8_0
/// weights from gguf-py, and the products from exact integer block sums in float64.
struct QuantDotCase {
    let file: GGUFFile
    let name: String
    let nb: Int, cols: Int
    let x: [Float]

    static let path = TestFixtures.path("gguf/quant_dot.gguf")
    static let names = ["main", "edge"]
    static let types = ["q4_0", "q4_1", "q8_0"]

    init(_ name: String) throws {
        file = try GGUFFile(path: Self.path)
        self.name = name
        let t = try file.requireTensor(named: "x.\(name)")
        cols = t.dimensions[0]; nb = t.dimensions[1]
        x = try file.floats(of: t)
    }

    func matrix(_ type: String) throws -> QuantizedMatrix { try QuantizedMatrix(file: file, named: "w.\(type).\(name)") }

    func raw<T>(_ tensor: String, as: T.Type) throws -> [T] {
        Array(file.rawBytes(of: try file.requireTensor(named: "\(tensor).\(name)")).bindMemory(to: T.self))
    }

    /// Expected `[nb, rows]` products.
    func expected(_ type: String) throws -> [Double] { try raw("y.\(type)", as: Double.self) }
}

@Suite("quantized matrix products")
struct QuantizedMatrixTests {
    @Test("activation codes and fp16 d, s equal llama.cpp's x86 quantize_row_q8_0/q8_1 bit for bit",
          arguments: QuantDotCase.names)
    func activations(name: String) throws {
        let c = try QuantDotCase(name)
        let codes = try c.raw("xq.codes", as: Int8.self)
        let d = try c.raw("xq.d", as: UInt16.self), s = try c.raw("xq.s", as: UInt16.self)
        // The codes and scales do not depend on the weight type the operands are laid out for.
        for type in [GGMLType.q4_1, .q8_0] {
            let scratch = QuantizedActivations()
            scratch.quantize(c.x, rows: c.nb, cols: c.cols, for: type)
            var bad: [String] = []
            for r in 0..<c.nb {
                for i in 0..<c.cols where scratch.code(row: r, index: i) != codes[r * c.cols + i] {
                    bad.append("code [\(r), \(i)] = \(scratch.code(row: r, index: i)), want \(codes[r * c.cols + i])")
                }
                for b in 0..<(c.cols / 32) {
                    let k = r * c.cols / 32 + b
                    if scratch.scaleBits(row: r, block: b) != d[k] { bad.append("d [\(r), \(b)] = 0x\(String(scratch.scaleBits(row: r, block: b), radix: 16)), want 0x\(String(d[k], radix: 16))") }
                    if scratch.sumBits(row: r, block: b) != s[k] { bad.append("s [\(r), \(b)] = 0x\(String(scratch.sumBits(row: r, block: b), radix: 16)), want 0x\(String(s[k], radix: 16))") }
                }
            }
            #expect(bad.isEmpty, "\(name) for \(type): \(bad.count) mismatches, first: \(bad.prefix(3))")
        }
    }

    @Test("W·x equals the integer block sums to 1e-5 of max |y|",
          arguments: QuantDotCase.names, QuantDotCase.types)
    func products(name: String, type: String) throws {
        let c = try QuantDotCase(name)
        let w = try c.matrix(type)
        let want = try c.expected(type)
        #expect(want.count == c.nb * w.rows && w.cols == c.cols)
        var y = [Float](repeating: .nan, count: c.nb * w.rows)
        w.multiply(c.x, rows: c.nb, into: &y, ldy: w.rows, accumulate: false, scratch: QuantizedActivations())
        let err = relativeError(y, want)
        #expect(err <= 1e-5, "\(type).\(name): relative error \(err)")
    }

    @Test("one vector at a time, padded ldy, accumulate and any thread count give the same bits",
          arguments: QuantDotCase.types)
    func layouts(type: String) throws {
        let c = try QuantDotCase("main")
        let w = try c.matrix(type)
        let rows = w.rows, scratch = QuantizedActivations()
        var batched = [Float](repeating: 0, count: c.nb * rows)
        w.multiply(c.x, rows: c.nb, into: &batched, ldy: rows, accumulate: false, scratch: scratch, pool: WorkerPool(threads: 3))

        // One vector per call, serial, into a padded output whose padding must stay untouched.
        let ldy = rows + 5
        var single = [Float](repeating: -7, count: c.nb * ldy)
        for b in 0..<c.nb {
            c.x.withUnsafeBufferPointer { x in
                single.withUnsafeMutableBufferPointer { y in
                    w.multiply(x.baseAddress! + b * c.cols, rows: 1, into: y.baseAddress! + b * ldy, ldy: ldy,
                               accumulate: false, scratch: scratch, pool: .serial)
                }
            }
        }
        var unpadded: [Float] = []
        for b in 0..<c.nb {
            unpadded += single[(b * ldy)..<(b * ldy + rows)]
            #expect(single[(b * ldy + rows)..<(b * ldy + ldy)].allSatisfy { $0 == -7 }, "padding of vector \(b) was written")
        }
        expectBitExact(unpadded, batched, "\(type): one vector per call vs \(c.nb) at once")

        // Accumulate adds to what is there: start from 1.5 everywhere.
        var acc = [Float](repeating: 1.5, count: c.nb * rows)
        w.multiply(c.x, rows: c.nb, into: &acc, ldy: rows, accumulate: true, scratch: scratch, pool: .shared)
        expectBitExact(acc, batched.map { 1.5 + $0 }, "\(type): accumulate")

        // Inputs quantized once and reused.
        scratch.quantize(c.x, rows: c.nb, cols: c.cols, for: w.type)
        var reused = [Float](repeating: 0, count: c.nb * rows)
        w.multiply(quantized: scratch, into: &reused, ldy: rows, accumulate: false)
        expectBitExact(reused, batched, "\(type): pre-quantized inputs")
    }

    @Test("a large matrix split over threads equals the serial product")
    func largeSplit() throws {
        // 1536 × 576 Q4_1 (SmolLM2's ffn_gate shape) from random blocks: well above the pool threshold.
        let rows = 1536, cols = 576
        var rng = SeededGenerator(seed: 7)
        var bytes = (0..<(rows * cols / 32 * 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0..<(rows * cols / 32) {
            for off in [0, 2] {
                let h = HalfPrecision.half(from: Float.random(in: -0.02...0.02, using: &rng))
                bytes[20 * b + off] = UInt8(h & 0xFF); bytes[20 * b + off + 1] = UInt8(h >> 8)
            }
        }
        let w = bytes.withUnsafeBytes { QuantizedMatrix(copying: $0, type: .q4_1, rows: rows, cols: cols) }
        let x = rng.floats(2 * cols)
        var serial = [Float](repeating: 0, count: 2 * rows), split = serial
        w.multiply(x, rows: 2, into: &serial, ldy: rows, accumulate: false, scratch: QuantizedActivations(), pool: .serial)
        w.multiply(x, rows: 2, into: &split, ldy: rows, accumulate: false, scratch: QuantizedActivations(), pool: WorkerPool(threads: 2))
        expectBitExact(split, serial, "1536 × 576 Q4_1, 2 threads vs 1")
    }

    @Test("shape, types and errors that name the tensor")
    func shapesAndErrors() throws {
        let c = try QuantDotCase("main")
        let w = try c.matrix("q4_1")
        #expect(w.rows == 37 && w.cols == 576 && w.type == .q4_1 && w.activationType == .q8_1)
        #expect(w.rowBytes == 18 * 20 && w.byteCount == 37 * 18 * 20)
        #expect(try c.matrix("q8_0").activationType == .q8_0)
        #expect(QuantizedMatrix.supports(.q4_0) && !QuantizedMatrix.supports(.q6_K) && !QuantizedMatrix.supports(.f32))
        do {
            _ = try QuantizedMatrix(file: c.file, named: "x.main")
            Issue.record("an F32 tensor was accepted")
        } catch let error as GGUFError {
            #expect(error.description.contains("'x.main'") && error.description.contains("F32"), "\(error)")
            #expect(error.offset == c.file.tensor(named: "x.main")!.infoOffset)
        }
        #expect(throws: GGUFError.self) { try QuantizedMatrix(file: c.file, named: "no.such.tensor") }
    }
}
