import Foundation
import MonolithGGUF
import MonolithTestSupport
import Testing

/// The writer: Monolith writes, Monolith reads back (and, when `MONOLITH_GGUF_WRITER_OUT` names a
/// path, the file is left there with a JSON sidecar for scripts/check_gguf_writer.py, which reads
/// it with gguf-py).
@Suite("GGUF writer")
struct GGUFWriterTests {
    /// Metadata of every value type.
    static let metadata: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("general.name", .string("Monolith writer test ✓")),
        ("test.u8", .uint8(255)), ("test.i8", .int8(-128)), ("test.u16", .uint16(65535)), ("test.i16", .int16(-32768)),
        ("test.u32", .uint32(4_294_967_295)), ("test.i32", .int32(-2_147_483_648)),
        ("test.u64", .uint64(UInt64.max)), ("test.i64", .int64(Int64.min)),
        ("test.f32", .float32(0.1)), ("test.f64", .float64(-1e-300)), ("test.bool", .bool(true)),
        ("test.empty_string", .string("")),
        ("tokenizer.ggml.tokens", .array(.string, ["<|endoftext|>", "Ġthe", "", "日本語", "\n"].map { .string($0) })),
        ("tokenizer.ggml.token_type", .array(.int32, [3, 1, 1, 1, 6].map { .int32($0) })),
        ("test.floats", .array(.float32, [0.5, -0.25, 1e-20].map { .float32($0) })),
        ("test.u64s", .array(.uint64, [0, UInt64.max].map { .uint64($0) })),
        ("test.bools", .array(.bool, [.bool(false), .bool(true)])),
        ("test.empty_array", .array(.int32, [])),
    ]

    /// Input floats with edge values for the encoders, 4 blocks of 32 per row.
    static func input(rows: Int) -> [Float] {
        var rng = SeededGenerator(seed: 7)
        var x = rng.floats(128 * rows, in: -3...3)
        let edges: [Float] = [0, -0.0, 1e-8, -1e-8, 65504, 70000, .leastNonzeroMagnitude * 1000, 0.5, 1 + 0x1p-11, 1 + 0x1p-8]
        for (i, e) in edges.enumerated() { x[i] = e }
        return x
    }

    /// Writes the round-trip file: the same input as F32, F16, BF16 and Q8_0 (2-D), a 1-D F32 from
    /// a pointer, and a Q4_K tensor copied as bytes from the codecs fixture.
    static let norm: [Float] = (0..<576).map { Float($0) * 0.01 - 2 }

    static func writeRoundTrip(to path: String, alignment: Int = 32) throws -> (GGUFWriter, [Float], [UInt8]) {
        let fixture = try CodecFixture.file()
        let q4k = Array(fixture.rawBytes(of: try fixture.requireTensor(named: "q4_k.raw")))
        let writer = GGUFWriter(alignment: alignment)
        for (k, v) in metadata { try writer.add(k, v) }
        let x = input(rows: 3)
        for type in [GGMLType.f32, .f16, .bf16, .q8_0] {
            try writer.addTensor("w.\(type.name.lowercased())", dimensions: [128, 3], type: type, values: x)
        }
        try norm.withUnsafeBufferPointer { p in
            try writer.addTensor("output_norm.weight", dimensions: [576], type: .f32, values: p)
            try writer.addEncodedTensor("w.q4_k", dimensions: [768, 2], type: .q4_K, bytes: q4k)
            try writer.write(to: path)                          // the pointer must stay valid until here
        }
        return (writer, x, q4k)
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).gguf").path
    }

    @Test("Swift writes, Swift reads back the same metadata and tensors", arguments: [32, 64])
    func roundTrip(alignment: Int) throws {
        let path = Self.temporaryPath("writer")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (writer, x, q4k) = try Self.writeRoundTrip(to: path, alignment: alignment)
        let file = try GGUFFile(path: path)
        #expect(file.version == 3)
        #expect(file.alignment == alignment)
        #expect(file.keys == writer.keys)
        #expect(file.keys.first == (alignment == 32 ? "general.architecture" : "general.alignment"))
        for (k, v) in Self.metadata { #expect(file.metadata[k] == v, "\(k)") }
        #expect(file.tensors.map(\.name) == ["w.f32", "w.f16", "w.bf16", "w.q8_0", "output_norm.weight", "w.q4_k"])
        var expectedOffset = 0
        for t in file.tensors {
            #expect(t.offset == expectedOffset, "\(t.name): llama.cpp needs contiguous offsets")
            expectedOffset += (t.byteCount + alignment - 1) / alignment * alignment
        }
        #expect(file.dataOffset % alignment == 0)
        #expect(file.fileSize == file.dataOffset + expectedOffset)
        for type in [GGMLType.f32, .f16, .bf16, .q8_0] {
            let t = try file.requireTensor(named: "w.\(type.name.lowercased())")
            #expect(t.type == type && t.dimensions == [128, 3])
            var want = [UInt8](repeating: 0, count: type.byteCount(elements: x.count))
            want.withUnsafeMutableBytes { type.quantize(x, count: x.count, into: $0.baseAddress!) }
            expectSameBytes(Array(file.rawBytes(of: t)), want, t.name)
        }
        expectBitExact(try file.floats(named: "w.f32"), x, "w.f32")
        expectBitExact(try file.floats(named: "output_norm.weight"), Self.norm, "output_norm")
        expectSameBytes(Array(file.rawBytes(of: try file.requireTensor(named: "w.q4_k"))), q4k, "w.q4_k")
        // Decoding what was encoded stays close to the input (a sanity check of the pairing).
        let q8 = try file.floats(named: "w.q8_0")
        for i in 32..<x.count { #expect(abs(q8[i] - x[i]) <= 3.0 / 127, "w.q8_0[\(i)]") }   // past the edge-value block
    }

    @Test("the round-trip file is left for gguf-py when MONOLITH_GGUF_WRITER_OUT is set")
    func export() throws {
        guard let path = ProcessInfo.processInfo.environment["MONOLITH_GGUF_WRITER_OUT"] else { return }
        let (writer, _, _) = try Self.writeRoundTrip(to: path)
        var keys: [[String: Any]] = []
        for k in writer.keys {
            let v = Self.metadata.first { $0.0 == k }!.1
            var entry: [String: Any] = ["key": k, "type": v.type.name]
            if let e = v.elementType { entry["element_type"] = e.name }
            switch GGUFReaderTests.render(v) {
            case .one(let s): entry["value"] = s
            case .many(let a): entry["value"] = a
            }
            keys.append(entry)
        }
        let sidecar: [String: Any] = [
            "metadata": keys,
            "tensors": [["name": "w.f32", "type": "F32", "dims": [128, 3]], ["name": "w.f16", "type": "F16", "dims": [128, 3]],
                        ["name": "w.bf16", "type": "BF16", "dims": [128, 3]], ["name": "w.q8_0", "type": "Q8_0", "dims": [128, 3]],
                        ["name": "output_norm.weight", "type": "F32", "dims": [576]], ["name": "w.q4_k", "type": "Q4_K", "dims": [768, 2]]],
            "encoded_source": ["w.q4_k": "q4_k.raw"],
            "float_source": "w.f32",
        ]
        try JSONSerialization.data(withJSONObject: sidecar, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: path + ".json"))
    }

    @Test("bad requests are refused with the problem named")
    func refusals() throws {
        let w = GGUFWriter()
        try w.add("a.key", .uint32(1))
        try w.addTensor("t", dimensions: [32], type: .f32, values: [Float](repeating: 0, count: 32))
        let cases: [(String, () throws -> Void)] = [
            ("duplicate metadata key 'a.key'", { try w.add("a.key", .uint32(2)) }),
            ("must not be empty", { try w.add("", .bool(true)) }),
            ("general.alignment is set by GGUFWriter(alignment:)", { try w.add("general.alignment", .uint32(64)) }),
            ("nested arrays", { try w.add("n", .array(.array, [])) }),
            ("element 1 is INT32 in an array of STRING", { try w.add("m", .array(.string, [.string("x"), .int32(1)])) }),
            ("duplicate tensor name 't'", { try w.addTensor("t", dimensions: [32], type: .f32, values: [Float](repeating: 0, count: 32)) }),
            ("5 values given for dimensions [4] (4 elements)", { try w.addTensor("u", dimensions: [4], type: .f32, values: [1, 2, 3, 4, 5]) }),
            ("row length 16 is not a multiple of the Q8_0 block size 32", { try w.addTensor("v", dimensions: [16, 2], type: .q8_0, values: [Float](repeating: 0, count: 32)) }),
            ("cannot encode floats as Q4_K", { try w.addTensor("x", dimensions: [256], type: .q4_K, values: [Float](repeating: 0, count: 256)) }),
            ("100 bytes given, but Q4_K [256] takes 144", { try w.addEncodedTensor("y", dimensions: [256], type: .q4_K, bytes: [UInt8](repeating: 0, count: 100)) }),
            ("must be 1 to 63 bytes", { try w.addTensor(String(repeating: "n", count: 64), dimensions: [1], type: .f32, values: [0]) }),
            ("must be 1 to 4 non-negative extents", { try w.addTensor("z", dimensions: [1, 1, 1, 1, 1], type: .f32, values: [0]) }),
        ]
        for (message, body) in cases {
            let error = #expect(throws: GGUFError.self, "\(message)") { try body() }
            #expect(error?.description.contains(message) == true, "\(message): \(error?.description ?? "")")
        }
    }

    @Test("a failed write names the path and leaves nothing behind")
    func failedWrite() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)").path
        let path = dir + "/missing/model.gguf"
        let error = #expect(throws: GGUFError.self) { try GGUFWriter().write(to: path) }
        #expect(error?.description.hasPrefix(path) == true)
        // Into an existing directory the temporary file is renamed away: only the result remains.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try GGUFWriter().write(to: dir + "/empty.gguf")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["empty.gguf"])
        let empty = try GGUFFile(path: dir + "/empty.gguf")
        #expect(empty.keys.isEmpty && empty.tensors.isEmpty)
    }
}
