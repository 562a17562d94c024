import Foundation
import SwiftProtobuf
#if canImport(Glibc)
import Glibc
#endif

/// Writes TensorBoard scalar summaries to an `events.out.tfevents.*` file.
///
/// Each record is TFRecord-framed: `uint64 length`, `uint32 masked_crc32c(length)`, the serialized
/// `Event`, `uint32 masked_crc32c(event)`, all little-endian. The first event carries the file
/// version `brain.Event:2`, as TensorFlow's writer does.
public final class TensorBoardWriter {
    /// The event file.
    public let path: String
    private let handle: FileHandle

    /// Creates a new event file in `directory`.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName
        path = directory + "/events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid())"
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw TrainingError("\(path): cannot create the TensorBoard event file")
        }
        handle = h
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.fileVersion = "brain.Event:2"
        try write(event)
    }

    deinit { try? handle.close() }

    /// Appends scalars `tag → value` at `step`.
    public func scalars(_ values: [(String, Float)], step: Int) throws {
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(step)
        var summary = Tensorboard_Summary()
        summary.value = values.map { tag, v in
            var value = Tensorboard_Summary.Value()
            value.tag = tag
            value.simpleValue = v
            return value
        }
        event.summary = summary
        try write(event)
    }

    /// Forces buffered records to disk.
    public func flush() { try? handle.synchronize() }

    func write(_ event: Tensorboard_Event) throws {
        let payload: Data = try event.serializedBytes()
        handle.write(TFRecord.frame(payload))
    }
}

/// TFRecord framing and its masked CRC-32C checksums.
public enum TFRecord {
    /// One framed record around `payload`.
    public static func frame(_ payload: Data) -> Data {
        var out = Data()
        var len = UInt64(payload.count).littleEndian
        let lenBytes = withUnsafeBytes(of: &len) { Data($0) }
        out.append(lenBytes)
        var lenCRC = maskedCRC32C(lenBytes).littleEndian
        out.append(withUnsafeBytes(of: &lenCRC) { Data($0) })
        out.append(payload)
        var dataCRC = maskedCRC32C(payload).littleEndian
        out.append(withUnsafeBytes(of: &dataCRC) { Data($0) })
        return out
    }

    /// TFRecord's mask: rotate right by 15 and add a constant, so CRCs of CRCs stay well spread.
    public static func maskedCRC32C(_ data: Data) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
    public static func crc32c(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }
}
