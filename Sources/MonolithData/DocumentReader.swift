#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an input file holds documents.
public enum InputFormat: String, Sendable, Codable {
    /// One JSON object per line; the document is one string field (`"text"` by default).
    case jsonl
    /// Plain UTF-8 text: the whole file is one document, or each line is one (`--split-lines`).
    case text

    /// `.jsonl`, `.json` and `.ndjson` files are JSONL; anything else is text.
    public static func of(path: String) -> InputFormat {
        let lower = path.lowercased()
        return [".jsonl", ".json", ".ndjson"].contains(where: { lower.hasSuffix($0) }) ? .jsonl : .text
    }
}

/// A block of file bytes shared by the documents cut from it, so lines are not copied one by one.
public final class ByteChunk: Sendable {
    /// The bytes.
    public let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// One document as it sits in its file, before UTF-8 validation or JSON decoding.
public struct RawDocument: Sendable {
    /// The block holding the document's bytes.
    public let chunk: ByteChunk
    /// The document's bytes within `chunk` (without the line terminator).
    public let range: Range<Int>
    /// Index of the file in the input list.
    public let file: Int
    /// 1-based line number, or 0 when the document is a whole file.
    public let line: Int
    /// Byte offset of the document's first byte in its file.
    public let fileOffset: Int
    /// Format of the file.
    public let format: InputFormat
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#else
private let systemRead = Darwin.read
#endif

/// Cuts input files into `RawDocument`s, reading in large blocks.
public enum DocumentReader {
    /// Calls `body` with batches of documents of about `batchBytes` bytes, in file order.
    /// `body` returns `false` to stop early. Throws `DataError.io` naming an unreadable file.
    public static func read(files: [String], splitLines: Bool, batchBytes: Int = 4 << 20,
                            body: ([RawDocument]) throws -> Bool) throws {
        var batch: [RawDocument] = []
        var batchSize = 0
        func emit(_ doc: RawDocument) throws {
            batch.append(doc)
            batchSize += doc.range.count + 64
            if batchSize >= batchBytes {
                let full = batch
                batch = []; batchSize = 0
                if !(try body(full)) { throw StopReading() }
            }
        }
        do {
            for (index, path) in files.enumerated() {
                try readFile(path: path, index: index, splitLines: splitLines, blockSize: max(batchBytes, 1 << 20), emit: emit)
            }
            if !batch.isEmpty { _ = try body(batch) }
        } catch is StopReading {
            return
        }
    }

    private struct StopReading: Error {}

    private static func readFile(path: String, index: Int, splitLines: Bool, blockSize: Int,
                                 emit: (RawDocument) throws -> Void) throws {
        let format = InputFormat.of(path: path)
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw DataError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if format == .text && !splitLines {
            var bytes: [UInt8] = []
            while try readBlock(fd: fd, path: path, into: &bytes, count: 8 << 20) > 0 {}
            try emit(RawDocument(chunk: ByteChunk(bytes), range: 0..<bytes.count, file: index, line: 0,
                                 fileOffset: 0, format: format))
            return
        }
        var carry: [UInt8] = []
        var carryOffset = 0
        var line = 1
        while true {
            var block = carry
            let atEnd = try readBlock(fd: fd, path: path, into: &block, count: blockSize) == 0
            if atEnd && block.isEmpty { return }
            let cut: Int
            if atEnd {
                cut = block.count
            } else if let lastNewline = block.lastIndex(of: 0x0A) {
                cut = lastNewline + 1
            } else {
                carry = block   // a line longer than the block: keep reading
                continue
            }
            let chunk = ByteChunk(block)
            let base = carryOffset
            var documents: [RawDocument] = []
            chunk.bytes.withUnsafeBufferPointer { p in
                var start = 0
                while start < cut {
                    var end = start
                    while end < cut && p[end] != 0x0A { end += 1 }
                    var stop = end
                    if stop > start && p[stop - 1] == 0x0D { stop -= 1 }
                    documents.append(RawDocument(chunk: chunk, range: start..<stop, file: index, line: line,
                                                 fileOffset: base + start, format: format))
                    line += 1
                    start = end + 1
                }
            }
            for doc in documents { try emit(doc) }
            if atEnd { return }
            carry = Array(block[cut...])
            carryOffset = base + cut
        }
    }

    /// Appends up to `count` bytes from `fd` to `bytes`; returns how many were read (0 at the end).
    private static func readBlock(fd: Int32, path: String, into bytes: inout [UInt8], count: Int) throws -> Int {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        defer { buffer.deallocate() }
        var got = 0
        while got < count {
            let n = systemRead(fd, buffer + got, count - got)
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError.io(path: path, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            got += n
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: got))
        return got
    }
}
