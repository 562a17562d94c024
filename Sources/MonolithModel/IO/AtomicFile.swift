import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old content or the complete new one, never a
/// torn write: temporary file in the same directory, fsync, rename, fsync of the directory.
public enum AtomicFile {
    /// Fault injection for tests: called before each write with the destination path; throwing
    /// simulates a failing disk (e.g. ENOSPC) at that point.
    nonisolated(unsafe) public static var faultInjector: ((String) throws -> Void)?

    /// A sink for the bytes of the file being written.
    public final class Output {
        let fd: Int32
        let path: String
        init(fd: Int32, path: String) { self.fd = fd; self.path = path }
        /// Appends `bytes`, retrying short writes.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            try AtomicFile.faultInjector?(path)
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SafeTensorsError(path, "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    /// Creates `path` atomically with the bytes `body` writes.
    public static func write(to path: String, _ body: (Output) throws -> Void) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError(path, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        do {
            try body(Output(fd: fd, path: tmp))
            guard fsync(fd) == 0 else { throw SafeTensorsError(path, "fsync failed: \(String(cString: strerror(errno)))") }
            close(fd)
        } catch {
            close(fd); unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw SafeTensorsError(path, "rename failed: \(String(cString: strerror(errno)))")
        }
        syncDirectory(dir.isEmpty ? "." : dir)
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { out in try data.withUnsafeBytes { try out.write($0) } }
    }

    /// Flushes a directory entry change (a rename) to disk.
    public static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
