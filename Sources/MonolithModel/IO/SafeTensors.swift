import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A malformed or unreadable safetensors file; the message names the file and the problem.
public struct SafeTensorsError: Error, CustomStringConvertible {
    public let description: String
    init(_ path: String, _ message: String) { description = "\(path): \(message)" }
}

/// Element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32", i16 = "I16",
         i8 = "I8", u8 = "U8", bool = "BOOL", u16 = "U16", u32 = "U32", u64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .i8, .u8, .bool: 1
        }
    }
}

/// A memory-mapped, validated safetensors file (Hugging Face's tensor container).
///
/// Layout: an 8-byte little-endian header length, a JSON header mapping names to
/// `{dtype, shape, data_offsets}` (offsets relative to the byte after the header), then the data.
/// Every entry is checked before use: known dtype, non-negative shape whose byte size equals its
/// offset span, offsets inside the file, and no two tensors overlapping.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// let wte = try file.floats("transformer.wte.weight")
/// ```
public final class SafeTensorsFile {
    /// One tensor's header entry.
    public struct Entry: Sendable {
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// File path, for error messages.
    public let path: String
    /// Tensors by name.
    public let entries: [String: Entry]
    /// The `__metadata__` string map.
    public let metadata: [String: String]
    private let mapping: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let dataStart: Int

    /// Maps and validates `path`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError(path, "cannot stat") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafeTensorsError(path, "file is \(size) bytes, too short for a safetensors header") }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw SafeTensorsError(path, "mmap failed: \(String(cString: strerror(errno)))")
        }
        mapping = m; mappedSize = size
        do {
            let headerLen = Int(UInt64(littleEndian: m.loadUnaligned(as: UInt64.self)))
            guard headerLen > 0, headerLen <= size - 8 else {
                throw SafeTensorsError(path, "header length \(headerLen) does not fit in a \(size)-byte file")
            }
            dataStart = 8 + headerLen
            let headerData = Data(bytes: m + 8, count: headerLen)
            guard let json = try? JSONSerialization.jsonObject(with: headerData), let dict = json as? [String: Any] else {
                throw SafeTensorsError(path, "header is not a JSON object")
            }
            var entries: [String: Entry] = [:]
            var metadata: [String: String] = [:]
            for (name, value) in dict {
                if name == "__metadata__" {
                    guard let md = value as? [String: Any] else { throw SafeTensorsError(path, "__metadata__ is not an object") }
                    for (k, v) in md {
                        guard let s = v as? String else { throw SafeTensorsError(path, "__metadata__.\(k) is not a string") }
                        metadata[k] = s
                    }
                    continue
                }
                entries[name] = try Self.parseEntry(name: name, value: value, dataSize: size - dataStart, path: path)
            }
            let sorted = entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
            for (a, b) in zip(sorted, sorted.dropFirst()) where a.value.range.upperBound > b.value.range.lowerBound {
                throw SafeTensorsError(path, "tensors '\(a.key)' and '\(b.key)' overlap")
            }
            self.entries = entries
            self.metadata = metadata
        } catch {
            munmap(m, size)
            throw error
        }
    }

    deinit { munmap(mapping, mappedSize) }

    static func parseEntry(name: String, value: Any, dataSize: Int, path: String) throws -> Entry {
        guard let e = value as? [String: Any] else { throw SafeTensorsError(path, "tensor '\(name)': entry is not an object") }
        guard let ds = e["dtype"] as? String, let dtype = SafeTensorsDType(rawValue: ds) else {
            throw SafeTensorsError(path, "tensor '\(name)': unknown dtype \(e["dtype"].map { "\($0)" } ?? "(missing)")")
        }
        guard let shapeAny = e["shape"] as? [Any], let shape = shapeAny.map({ ($0 as? NSNumber)?.intValue }) as? [Int],
              shape.allSatisfy({ $0 >= 0 }) else {
            throw SafeTensorsError(path, "tensor '\(name)': shape must be a list of non-negative integers")
        }
        guard let offs = e["data_offsets"] as? [Any], offs.count == 2,
              let lo = (offs[0] as? NSNumber)?.intValue, let hi = (offs[1] as? NSNumber)?.intValue else {
            throw SafeTensorsError(path, "tensor '\(name)': data_offsets must be two integers")
        }
        guard lo >= 0, lo <= hi, hi <= dataSize else {
            throw SafeTensorsError(path, "tensor '\(name)': data_offsets [\(lo), \(hi)] lie outside the \(dataSize)-byte data section")
        }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw SafeTensorsError(path, "tensor '\(name)': shape \(shape) overflows") }
            count = p
        }
        guard count * dtype.size == hi - lo else {
            throw SafeTensorsError(path, "tensor '\(name)': shape \(shape) of \(ds) needs \(count * dtype.size) bytes but data_offsets span \(hi - lo)")
        }
        return Entry(dtype: dtype, shape: shape, range: lo..<hi)
    }

    /// The header entry of tensor `name`.
    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafeTensorsError(path, "no tensor named '\(name)'") }
        return e
    }

    /// Raw bytes of tensor `name`.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let e = try entry(name)
        return UnsafeRawBufferPointer(start: mapping + dataStart + e.range.lowerBound, count: e.range.count)
    }

    /// Tensor `name` converted to Float32 (from F32, F16, BF16 or F64).
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name), raw = try bytes(name)
        switch e.dtype {
        case .f32: return (0..<e.count).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        case .f64: return (0..<e.count).map { Float(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self)) }
        case .bf16: return (0..<e.count).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
        case .f16: return (0..<e.count).map { Float(halfBits: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        default: throw SafeTensorsError(path, "tensor '\(name)' has dtype \(e.dtype.rawValue), not a float type")
        }
    }

    /// Tensor `name` converted to Int32 (from I32 or I64).
    public func ints(_ name: String) throws -> [Int32] {
        let e = try entry(name), raw = try bytes(name)
        switch e.dtype {
        case .i32: return (0..<e.count).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
        case .i64: return (0..<e.count).map { Int32(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
        default: throw SafeTensorsError(path, "tensor '\(name)' has dtype \(e.dtype.rawValue), not an integer type")
        }
    }
}

extension Float {
    /// Decodes IEEE half-precision bits (portable: `Float16` is unavailable on some platforms).
    init(halfBits h: UInt16) {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
        if exp == 0 {
            let mag = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign != 0 ? -mag : mag
        } else if exp == 31 {
            self = Float(bitPattern: sign | 0x7F80_0000 | (frac << 13))
        } else {
            self = Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
        }
    }
}
