#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// A buffered writer to a temporary file that becomes `path` only on `commit()`.
///
/// Writing to `path.tmp-PID` and renaming at the end means an interrupted or failed run never
/// leaves a half-written file under the final name: a `.bin` without its `.idx`, or a cache entry
/// another rank would trust.
public final class FileWriter {
    /// The final path of the file.
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    /// Bytes written so far (buffered ones included).
    public private(set) var bytesWritten: Int64 = 0

    /// Creates `path`'s temporary sibling; throws `DataError.io` if it cannot.
    public init(path: String, bufferSize: Int = 1 << 20) throws {
        self.path = path
        temporaryPath = path + ".tmp-\(getpid())"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw DataError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        capacity = bufferSize
        buffer = .allocate(byteCount: bufferSize, alignment: 64)
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd); unlink(temporaryPath) }
    }

    /// Appends raw bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesWritten += Int64(bytes.count)
        if used + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try writeAll(bytes)
            return
        }
        if let src = bytes.baseAddress { (buffer + used).copyMemory(from: src, byteCount: bytes.count) }
        used += bytes.count
    }

    /// Appends the bytes of `array`.
    public func write(_ array: [UInt8]) throws { try array.withUnsafeBytes { try write($0) } }

    /// Appends a string's UTF-8 bytes.
    public func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a fixed-width integer in little-endian order.
    public func write<T: FixedWidthInteger>(littleEndian value: T) throws {
        var v = value.littleEndian
        try withUnsafeBytes(of: &v) { try write($0) }
    }

    /// Flushes, closes and renames the temporary file to `path`.
    public func commit() throws {
        try flush()
        close(fd); fd = -1
        if rename(temporaryPath, path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw DataError.io(path: path, message: "cannot rename from \(temporaryPath): \(message)")
        }
    }

    /// Closes and deletes the temporary file without creating `path`.
    public func abandon() {
        if fd >= 0 { close(fd); unlink(temporaryPath); fd = -1 }
    }

    private func flush() throws {
        if used == 0 { return }
        try writeAll(UnsafeRawBufferPointer(start: buffer, count: used))
        used = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}
