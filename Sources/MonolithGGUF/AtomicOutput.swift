import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered file written atomically: bytes go to a temporary file in the destination's
/// directory, which ``commit()`` fsyncs and renames over the destination (then fsyncs the
/// directory), so readers see the old file or the complete new one, never a torn write.
///
/// The same scheme as MonolithModel's `AtomicFile`, which this module cannot import (it sits
/// below the model layer) and which reports errors as safetensors errors.
final class AtomicOutput {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private let capacity = 1 << 22
    /// Bytes written so far (buffered included).
    private(set) var position = 0

    init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        temporaryPath = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GGUFError(path, "cannot create \(temporaryPath): \(String(cString: strerror(errno)))") }
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd); unlink(temporaryPath) }
    }

    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let src = bytes.baseAddress else { return }
        if bytes.count >= capacity {
            try flush()
            try writeAll(src, bytes.count)
        } else {
            if buffered + bytes.count > capacity { try flush() }
            (buffer + buffered).copyMemory(from: src, byteCount: bytes.count)
            buffered += bytes.count
        }
        position += bytes.count
    }

    /// Appends the little-endian bytes of `value`.
    func write<T: FixedWidthInteger>(_ value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try write($0) }
    }

    /// Appends `count` zero bytes.
    func writeZeros(_ count: Int) throws {
        var left = count
        let zeros = [UInt8](repeating: 0, count: min(count, 4096))
        while left > 0 {
            let n = min(left, zeros.count)
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
    }

    /// Flushes, syncs and renames the temporary file over ``path``.
    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw GGUFError(path, "fsync failed: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw GGUFError(path, "rename from \(temporaryPath) failed: \(message)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    private func flush() throws {
        try writeAll(buffer, buffered)
        buffered = 0
    }

    private func writeAll(_ src: UnsafeRawPointer, _ count: Int) throws {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, src + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw GGUFError(path, "write to \(temporaryPath) failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}
