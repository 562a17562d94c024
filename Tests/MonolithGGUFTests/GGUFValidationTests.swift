import Foundation
import MonolithGGUF
import Testing

/// Broken copies of `codecs.gguf` (gguf-py's writer; field offsets from gguf-py's reader) are
/// rejected with a ``GGUFError`` that names the file, the byte offset and the field or tensor.
@Suite("GGUF validation")
struct GGUFValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// Builds (patches, truncated length) from the layout.
        let build: @Sendable (CodecLayout) -> ([(Int, [UInt8])], Int?)
        /// Substrings the message must contain, given the layout.
        let expect: @Sendable (CodecLayout) -> [String]
        var testDescription: String { name }
    }

    static func truncated(_ name: String, at offset: @escaping @Sendable (CodecLayout) -> Int, _ words: [String]) -> Case {
        Case(name: "truncated " + name, build: { ([], offset($0)) }, expect: { _ in words })
    }

    static let cases: [Case] = [
        truncated("inside the magic", at: { _ in 2 }, ["byte 0", "truncated", "magic"]),
        truncated("inside the version", at: { _ in 6 }, ["byte 4", "truncated", "version"]),
        truncated("inside the tensor count", at: { _ in 12 }, ["byte 8", "truncated", "tensor count"]),
        truncated("inside the key-value count", at: { _ in 20 }, ["byte 16", "truncated", "key-value count"]),
        truncated("inside a key's length", at: { $0.fields[0].offset + 3 }, ["byte 24", "truncated", "key of metadata entry 0"]),
        truncated("inside a string value", at: { $0.field("test.string").lengthOffset! + 10 },
                  ["truncated", "value of key 'test.string'"]),
        truncated("inside an array of strings", at: { $0.field("test.strings").countOffset! + 8 + 12 },
                  ["truncated", "element 1 of the value of key 'test.strings'"]),
        truncated("inside an array's count", at: { $0.field("test.ints").countOffset! + 3 },
                  ["truncated", "element count of the value of key 'test.ints'"]),
        truncated("inside a tensor name", at: { $0.tensors[0].offset + 10 }, ["truncated", "name of tensor 0"]),
        truncated("inside tensor dimensions", at: { $0.tensor("q4_k.raw").dimsOffset + 4 },
                  ["truncated", "dimension 0 of tensor 'q4_k.raw'"]),
        truncated("inside a tensor offset", at: { $0.tensor("q6_k.edge").dataOffsetOffset + 1 },
                  ["truncated", "data offset of tensor 'q6_k.edge'"]),
        truncated("before the data", at: { $0.dataOffset }, ["runs past the end", "tensor 'f32.raw'"]),
        truncated("inside the data", at: { $0.dataOffset + $0.tensor("q5_k.raw").dataOffset + 7 },
                  ["runs past the end", "tensor 'q5_k.raw'"]),
        truncated("one byte into the last tensor", at: { $0.dataOffset + $0.tensors.last!.dataOffset + $0.tensors.last!.nBytes - 1 },
                  ["runs past the end", "tensor 'quant.q8_0.output'"]),
        truncated("to nothing", at: { _ in 0 }, ["byte 0", "truncated", "magic"]),
        Case(name: "bad magic", build: { _ in ([(0, Array("GGUX".utf8))], nil) }, expect: { _ in ["byte 0", "bad magic 'GGUX'"] }),
        Case(name: "version 4", build: { _ in ([(4, le(UInt32(4)))], nil) },
             expect: { _ in ["byte 4", "unsupported GGUF version 4"] }),
        Case(name: "version 1", build: { _ in ([(4, le(UInt32(1)))], nil) },
             expect: { _ in ["byte 4", "unsupported GGUF version 1"] }),
        Case(name: "big-endian", build: { _ in ([(4, le(UInt32(3 << 24)))], nil) }, expect: { _ in ["byte 4", "big-endian"] }),
        Case(name: "absurd tensor count", build: { _ in ([(8, le(UInt64(1) << 60))], nil) },
             expect: { _ in ["tensor count 1152921504606846976 (at byte 8) cannot fit", "truncated or the count is corrupt"] }),
        Case(name: "absurd key-value count", build: { _ in ([(16, le(UInt64(1) << 40))], nil) },
             expect: { _ in ["key-value count 1099511627776 (at byte 16) cannot fit", "truncated or the count is corrupt"] }),
        Case(name: "absurd string length", build: { ([($0.field("general.architecture").lengthOffset!, le(UInt64(1) << 62))], nil) },
             expect: { ["byte \($0.field("general.architecture").lengthOffset!)", "value of key 'general.architecture'", "string length 4611686018427387904 exceeds"] }),
        Case(name: "absurd array count", build: { ([($0.field("test.strings").countOffset!, le(UInt64(1) << 40))], nil) },
             expect: { ["count at byte \($0.field("test.strings").countOffset!)", "key 'test.strings'", "array of 1099511627776 STRING", "cannot fit"] }),
        Case(name: "absurd INT32 array count", build: { ([($0.field("test.ints").countOffset!, le(UInt64(1) << 50))], nil) },
             expect: { ["byte \($0.field("test.ints").countOffset!)", "key 'test.ints'", "array of 1125899906842624 INT32 needs"] }),
        Case(name: "unknown metadata value type", build: { ([($0.field("test.u8").typeOffset, le(UInt32(13)))], nil) },
             expect: { ["byte \($0.field("test.u8").typeOffset)", "key 'test.u8' has unknown value type 13"] }),
        Case(name: "unknown array element type", build: { ([($0.field("test.ints").countOffset! - 4, le(UInt32(77)))], nil) },
             expect: { ["byte \($0.field("test.ints").countOffset! - 4)", "key 'test.ints'", "unknown array element type 77"] }),
        Case(name: "invalid UTF-8", build: { ([($0.field("test.string").lengthOffset! + 9, [0xFF])], nil) },
             expect: { ["byte \($0.field("test.string").lengthOffset! + 8)", "value of key 'test.string' is not valid UTF-8"] }),
        Case(name: "duplicate key", build: { ([($0.field("test.dup_b").offset + 8 + 9, Array("a".utf8))], nil) },
             expect: { ["byte \($0.field("test.dup_b").offset)", "duplicate metadata key 'test.dup_a'", "first at byte \($0.field("test.dup_a").offset)"] }),
        Case(name: "duplicate tensor name", build: { ([($0.tensor("f16.raw").offset + 8, Array("f32".utf8))], nil) },
             expect: { ["byte \($0.tensor("f16.raw").offset)", "duplicate tensor name 'f32.raw'"] }),
        Case(name: "unknown tensor type 99", build: { ([($0.tensor("q4_0.raw").typeOffset, le(UInt32(99)))], nil) },
             expect: { ["byte \($0.tensor("q4_0.raw").typeOffset)", "tensor 'q4_0.raw' has unknown ggml type 99"] }),
        Case(name: "too many dimensions", build: { ([($0.tensor("q4_0.raw").dimsOffset - 4, le(UInt32(5)))], nil) },
             expect: { ["byte \($0.tensor("q4_0.raw").dimsOffset - 4)", "tensor 'q4_0.raw' has 5 dimensions"] }),
        Case(name: "row not a multiple of the block size", build: { ([($0.tensor("q4_0.raw").dimsOffset, le(UInt64(33)))], nil) },
             expect: { ["byte \($0.tensor("q4_0.raw").dimsOffset - 4)", "tensor 'q4_0.raw' of type Q4_0", "row length 33 is not a multiple of the block size 32"] }),
        Case(name: "misaligned tensor offset",
             build: { ([($0.tensor("q5_1.raw").dataOffsetOffset, le(UInt64($0.tensor("q5_1.raw").dataOffset + 4)))], nil) },
             expect: { ["byte \($0.tensor("q5_1.raw").dataOffsetOffset)", "tensor 'q5_1.raw'", "not a multiple of the alignment 32"] }),
        Case(name: "tensor offset past the end",
             build: { ([($0.tensor("q6_k.raw").dataOffsetOffset, le(UInt64($0.fileSize / 32 * 32)))], nil) },
             expect: { ["byte \($0.tensor("q6_k.raw").offset)", "tensor 'q6_k.raw'", "runs past the end of the \($0.fileSize)-byte file"] }),
        Case(name: "tensor offset near 2^64",
             build: { ([($0.tensor("q6_k.raw").dataOffsetOffset, le(UInt64.max - 31))], nil) },
             expect: { ["byte \($0.tensor("q6_k.raw").dataOffsetOffset)", "data offset of tensor 'q6_k.raw'", "too large"] }),
        Case(name: "overlapping tensors",
             build: { ([($0.tensor("f16.raw").dataOffsetOffset, le(UInt64($0.tensor("f32.raw").dataOffset)))], nil) },
             expect: { _ in ["overlap", "'f32.raw'", "'f16.raw'"] }),
    ]

    @Test("rejected with the file, the offset and the field named", arguments: cases)
    func rejects(_ c: Case) throws {
        let layout = try CodecFixture.layout()
        let (patches, length) = c.build(layout)
        let path = try BrokenFile.write(try CodecFixture.bytes(), patches: patches, length: length)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: GGUFError.self, "\(c.name)") { try GGUFFile(path: path) }
        guard let message = error?.description else { return }
        #expect(message.hasPrefix(path + ": "), "\(c.name): \(message)")
        for word in c.expect(layout) {
            #expect(message.contains(word), "\(c.name): '\(word)' missing from: \(message)")
        }
    }

    @Test("the good file itself is accepted")
    func good() throws {
        let file = try CodecFixture.file()
        #expect(file.tensors.count == (try CodecFixture.layout()).tensors.count)
    }

    @Test("a missing file is named")
    func missing() {
        let path = "/nonexistent/model.gguf"
        let error = #expect(throws: GGUFError.self) { try GGUFFile(path: path) }
        #expect(error?.description.hasPrefix("\(path): cannot open") == true)
    }
}
