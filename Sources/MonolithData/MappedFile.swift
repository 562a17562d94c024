#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. The mapping lives as long as the object, and the
/// page cache is shared with every other reader of the file (the data loader's ranks included).
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from, for error messages.
    public let path: String
    /// Size of the file in bytes.
    public let count: Int
    /// Start of the mapping; `nil` only for an empty file (which cannot be mapped).
    public let base: UnsafeRawPointer?

    /// Maps `path`; throws `DataError.io` naming the file when it cannot be opened or mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw DataError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw DataError.io(path: path, message: "cannot stat: \(String(cString: strerror(errno)))") }
        count = Int(st.st_size)
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED || p == nil {
            throw DataError.io(path: path, message: "cannot map \(count) bytes: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p!)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// Reads a little-endian value at `offset`; the caller has checked the bounds.
    @inline(__always)
    public func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
        T(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
