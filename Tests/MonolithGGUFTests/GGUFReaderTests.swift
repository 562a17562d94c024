import Foundation
import MonolithGGUF
import Testing

/// The reader against gguf-py's writer and reader: metadata, tensor infos and accessors of
/// `codecs.gguf` equal what gguf-py's GGUFReader reports (codecs.layout.json).
@Suite("GGUF reader")
struct GGUFReaderTests {
    /// Renders a value the way scripts/make_gguf_fixtures.py does.
    static func render(_ v: GGUFValue) -> CodecLayout.Value {
        switch v {
        case .float32(let f): return .one(hex(f.bitPattern, digits: 8))
        case .float64(let d): return .one(hex(d.bitPattern, digits: 16))
        case .bool(let b): return .one(b ? "true" : "false")
        case .string(let s): return .one(s)
        case .array(_, let a): return .many(a.map { if case .one(let s) = render($0) { s } else { "?" } })
        case .uint64(let u): return .one(String(u))
        default: return .one(String(v.int!))
        }
    }

    static func hex<T: BinaryInteger>(_ v: T, digits: Int) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    @Test("metadata keys, types and values equal gguf-py's")
    func metadata() throws {
        let file = try CodecFixture.file(), layout = try CodecFixture.layout()
        #expect(file.version == 3)
        #expect(file.keys == layout.fields.map(\.key))
        for field in layout.fields {
            let value = try #require(file.metadata[field.key])
            #expect(value.type.name == field.type, "\(field.key)")
            #expect(value.elementType?.name == field.elementType, "\(field.key)")
            switch (Self.render(value), field.value) {
            case (.one(let a), .one(let b)): #expect(a == b, "\(field.key)")
            case (.many(let a), .many(let b)): #expect(a == b, "\(field.key)")
            default: Issue.record("\(field.key): scalar/array mismatch")
            }
        }
    }

    @Test("typed accessors convert without loss or refuse")
    func accessors() throws {
        let file = try CodecFixture.file()
        #expect(file.architecture == "monolith-test")
        #expect(try file.int("test.u32") == 4_000_000_000)
        #expect(try file.int("test.i8") == -100)
        #expect(file.metadata["test.u64"]?.int == Int(exactly: UInt64(18_000_000_000_000_000_000)))
        #expect(try file.float("test.f32") == Float(bitPattern: 0x3DCC_CCCD))
        #expect(try file.float("test.u16") == 60000)
        #expect(try file.bool("test.bool_true"))
        #expect(try file.stringArray("test.strings") == ["a", "", "Ġt", "<|im_end|>", "日本"])
        #expect(try file.intArray("test.ints") == [1, -2, 3])
        #expect(try file.floatArray("test.floats") == [0.5, -1.25, Float(bitPattern: 0x3A83_126F)])
        #expect(file.metadata["test.strings"]?.intArray == nil)
        let wrongType = #expect(throws: GGUFError.self) { try file.string("test.u8") }
        #expect(wrongType?.description.contains("'test.u8' should be a STRING, found UINT8") == true)
        #expect(wrongType?.description.contains(CodecFixture.path) == true)
        let missing = #expect(throws: GGUFError.self) { try file.int("llama.block_count") }
        #expect(missing?.description.contains("'llama.block_count' is missing") == true)
    }

    @Test("tensor infos equal gguf-py's")
    func tensorInfos() throws {
        let file = try CodecFixture.file(), layout = try CodecFixture.layout()
        #expect(file.dataOffset == layout.dataOffset)
        #expect(file.alignment == layout.alignment)
        #expect(file.fileSize == layout.fileSize)
        #expect(file.tensors.map(\.name) == layout.tensors.map(\.name))
        for (t, want) in zip(file.tensors, layout.tensors) {
            #expect(t.type.name == want.type, "\(t.name)")
            #expect(t.dimensions == want.dims, "\(t.name)")
            #expect(t.offset == want.dataOffset, "\(t.name)")
            #expect(t.byteCount == want.nBytes, "\(t.name)")
            #expect(t.infoOffset == want.offset, "\(t.name)")
            #expect(t.type.byteCount(elements: t.elementCount) == want.nBytes, "\(t.name)")
            #expect(file.rawBytes(of: t).count == want.nBytes)
            #expect(file.tensor(named: t.name) == t)
        }
        #expect(file.tensor(named: "q4_k.raw")?.shape == [2, 768])
        #expect(file.tensor(named: "no.such.tensor") == nil)
        let missing = #expect(throws: GGUFError.self) { try file.floats(named: "no.such.tensor") }
        #expect(missing?.description.contains("no tensor named 'no.such.tensor'") == true)
    }

    @Test("a known type Monolith cannot decode is listed, and decoding it names tensor and type")
    func unsupportedType() throws {
        // IQ4_NL has Q4_0's block (32 elements in 18 bytes), so retyping q4_0.raw keeps the file valid.
        let layout = try CodecFixture.layout()
        let t = layout.tensor("q4_0.raw")
        let path = try BrokenFile.write(try CodecFixture.bytes(), patches: [(t.typeOffset, le(UInt32(GGMLType.iq4_NL.rawValue)))])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        let info = try file.requireTensor(named: "q4_0.raw")
        #expect(info.type == .iq4_NL && !info.type.isSupported)
        #expect(file.rawBytes(of: info).count == t.nBytes)
        let error = #expect(throws: GGUFError.self) { try file.floats(of: info) }
        #expect(error?.description.contains("tensor 'q4_0.raw' has ggml type 20 (IQ4_NL)") == true)
        #expect(error?.description.contains("byte \(t.offset)") == true)
    }
}
