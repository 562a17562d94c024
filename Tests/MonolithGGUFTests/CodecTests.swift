import Foundation
import MonolithGGUF
import Testing

/// The ggml codecs against gguf-py's `gguf.quants` (fixtures from scripts/make_gguf_fixtures.py):
/// decoded floats and encoded bytes must match exactly.
@Suite("ggml codecs")
struct CodecTests {
    static let decoded = ["f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q4_k", "q5_k", "q6_k"]

    @Test("dequantize equals gguf.quants.dequantize bit for bit", arguments: decoded)
    func dequantize(type: String) throws {
        let file = try CodecFixture.file()
        for (raw, expected) in [("\(type).raw", "\(type).expected"), ("\(type).edge", "\(type).edge_expected")] {
            let tensor = try file.requireTensor(named: raw)
            #expect(tensor.type.isSupported)
            expectBitExact(try file.floats(of: tensor), try file.floats(named: expected), raw)
        }
    }

    @Test("quantize equals gguf.quants.quantize byte for byte", arguments: ["f16", "bf16", "q8_0"])
    func quantize(type: String) throws {
        let file = try CodecFixture.file()
        let input = try file.floats(named: "quant.\(type).input")
        let output = try file.requireTensor(named: "quant.\(type).output")
        #expect(output.type.isQuantizable)
        var got = [UInt8](repeating: 0xAA, count: output.byteCount)
        got.withUnsafeMutableBytes { output.type.quantize(input, count: input.count, into: $0.baseAddress!) }
        expectSameBytes(got, Array(file.rawBytes(of: output)), "quant.\(type).output")
    }

    @Test("large tensors split over the worker pool decode like small ones", arguments: ["q4_1", "q8_0", "q6_k", "f16"])
    func parallelSplit(type: String) throws {
        let file = try CodecFixture.file()
        let raw = try file.requireTensor(named: "\(type).raw")
        let want = try file.floats(named: "\(type).expected")
        let copies = (1 << 17) / raw.elementCount + 1         // well above the serial threshold
        var bytes: [UInt8] = []
        for _ in 0..<copies { bytes += Array(file.rawBytes(of: raw)) }
        var got = [Float](repeating: .nan, count: copies * raw.elementCount)
        bytes.withUnsafeBytes { src in
            got.withUnsafeMutableBufferPointer { raw.type.dequantize(src.baseAddress!, count: $0.count, into: $0.baseAddress!) }
        }
        expectBitExact(got, Array([[Float]](repeating: want, count: copies).joined()), "\(type) × \(copies)")
    }

    @Test("every fp16 bit pattern survives half → float → half")
    func halfRoundTrip() {
        for h in 0...UInt16.max {
            let back = HalfPrecision.half(from: HalfPrecision.float(fromHalf: h))
            if back != h { Issue.record("0x\(String(h, radix: 16)) came back as 0x\(String(back, radix: 16))"); return }
        }
    }

    @Test("every bf16 bit pattern survives bf16 → float → bf16 (NaNs come back quiet)")
    func bfloat16RoundTrip() {
        for b in 0...UInt16.max {
            let f = HalfPrecision.float(fromBFloat16: b)
            let back = HalfPrecision.bfloat16(from: f)
            let want = f.isNaN ? b | 0x0040 : b
            if back != want { Issue.record("0x\(String(b, radix: 16)) came back as 0x\(String(back, radix: 16))"); return }
        }
    }

    @Test("type numbers, names, block and type sizes equal gguf-py's GGML_QUANT_SIZES")
    func typeTable() throws {
        let table = try CodecFixture.layout().ggmlTypes
        #expect(table.count == GGMLType.allCases.count)
        for entry in table {
            guard let type = GGMLType(rawValue: entry.value) else { Issue.record("no GGMLType \(entry.value) (\(entry.name))"); continue }
            #expect(type.name == entry.name)
            #expect(type.blockSize == entry.blockSize, "\(entry.name)")
            #expect(type.typeSize == entry.typeSize, "\(entry.name)")
        }
        let supported = GGMLType.allCases.filter(\.isSupported).map(\.name)
        #expect(supported == ["F32", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "BF16"])
    }
}
