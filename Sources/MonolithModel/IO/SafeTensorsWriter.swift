import Foundation
import MonolithKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files that `safetensors.torch.load_file` and `from_pretrained` read.
///
/// Tensors are stored in the order given, the header is padded with spaces to a multiple of 8
/// bytes (as the reference implementation does, so data stays aligned), and the file appears
/// atomically: it is written to a temporary name, fsynced, then renamed over the target.
public struct SafeTensorsWriter {
    /// One tensor to write: fp32 values converted to `dtype` on the way out.
    public struct Tensor {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>
        public let dtype: SafeTensorsDType
        /// A tensor of `values` (row-major, `shape`) stored as `dtype` (F32, F16 or BF16).
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>, dtype: SafeTensorsDType = .f32) {
            self.name = name; self.shape = shape; self.values = values; self.dtype = dtype
        }
    }

    /// Writes `tensors` and `metadata` to `path`.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        var header = "{"
        var offset = 0
        if !metadata.isEmpty {
            let md = metadata.sorted { $0.key < $1.key }.map { "\(JSONString.quoted($0.key)):\(JSONString.quoted($0.value))" }
            header += "\"__metadata__\":{\(md.joined(separator: ","))}"
        }
        for t in tensors {
            precondition(t.shape.reduce(1, *) == t.values.count, "tensor \(t.name): shape does not match values")
            guard [.f32, .f16, .bf16].contains(t.dtype) else {
                throw SafeTensorsError(path, "tensor '\(t.name)': cannot write dtype \(t.dtype.rawValue)")
            }
            let bytes = t.values.count * t.dtype.size
            if header.count > 1 { header += "," }
            header += "\(JSONString.quoted(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        try AtomicFile.write(to: path) { out in
            var len = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &len) { try out.write($0) }
            try headerBytes.withUnsafeBytes { try out.write($0) }
            for t in tensors { try writeValues(t, to: out) }
        }
    }

    static func writeValues(_ t: Tensor, to out: AtomicFile.Output) throws {
        let chunk = 1 << 16
        var start = 0
        while start < t.values.count {
            let end = min(t.values.count, start + chunk)
            switch t.dtype {
            case .f32:
                try out.write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(t.values)[(4 * start)..<(4 * end)]))
            case .f16:
                let half = (start..<end).map { halfBits(t.values[$0]).littleEndian }
                try half.withUnsafeBytes { try out.write($0) }
            default:
                let bf = (start..<end).map { bfloat16Bits(t.values[$0]).littleEndian }
                try bf.withUnsafeBytes { try out.write($0) }
            }
            start = end
        }
    }
}

/// Round-to-nearest-even fp32 → IEEE half bits.
public func halfBits(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exp = Int((bits >> 23) & 0xFF), mant = bits & 0x7F_FFFF
    if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x200 : 0) }
    let e = exp - 127 + 15
    if e >= 31 { return sign | 0x7C00 }
    if e <= 0 {
        if e < -10 { return sign }
        let m = mant | 0x80_0000
        let shift = UInt32(14 - e)
        var h = m >> shift
        let rem = m & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && (h & 1) == 1) { h += 1 }
        return sign | UInt16(h)
    }
    var h = UInt32(e) << 10 | (mant >> 13)
    let rem = mant & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }
    return sign | UInt16(h)
}
