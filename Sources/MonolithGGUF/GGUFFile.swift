#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A memory-mapped, validated GGUF file (llama.cpp's model format), version 2 or 3, little-endian.
///
/// Layout: the magic `GGUF`, a 32-bit version, 64-bit tensor and key-value counts, the metadata
/// key-value pairs, one info record per tensor (name, dimensions in ggml order, ggml type, offset
/// into the data section), padding to `general.alignment` (default 32), then the tensor data.
/// Everything is checked when the file is opened: counts and lengths against the bytes that
/// remain, known value and tensor types, rows that are whole blocks, aligned offsets, tensor data
/// inside the file and not overlapping, no duplicate keys or tensor names. Each failure is a
/// ``GGUFError`` naming the file, the byte offset and the field or tensor.
///
/// Tensors of every known ggml type can be listed and their raw bytes read; ``floats(of:)`` and
/// ``dequantize(_:into:)`` decode the ``GGMLType/isSupported`` ones and throw for the others.
///
/// ```swift
/// let file = try GGUFFile(path: "SmolLM2-135M-Instruct.Q4_1.gguf")
/// let arch = file.metadata["general.architecture"]?.string          // "llama"
/// let q = try file.floats(named: "blk.0.attn_q.weight")             // 576 × 576 floats
/// ```
public final class GGUFFile: @unchecked Sendable {
    /// The file's path, for messages.
    public let path: String
    /// Format version (2 or 3).
    public let version: UInt32
    /// Metadata keys in file order.
    public let keys: [String]
    /// Metadata values by key.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Alignment of the data section and of every tensor offset (`general.alignment`, default 32).
    public let alignment: Int
    /// Byte offset in the file where the data section starts.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public let fileSize: Int

    private let mapping: UnsafeMutableRawPointer?
    private let tensorIndex: [String: Int]

    /// The alignment a file has when it does not set `general.alignment`.
    public static let defaultAlignment = 32

    /// Maps and validates the GGUF file at `path`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError(path, "cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        fileSize = size
        if size == 0 {
            mapping = nil
        } else {
            guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
                throw GGUFError(path, "mmap failed: \(String(cString: strerror(errno)))")
            }
            mapping = m
        }
        do {
            let base = UnsafeRawPointer(mapping ?? UnsafeMutableRawPointer(bitPattern: 1)!)
            let parsed = try GGUFParser.parse(base: base, size: size, path: path)
            version = parsed.version
            keys = parsed.keys
            metadata = parsed.metadata
            tensors = parsed.tensors
            alignment = parsed.alignment
            dataOffset = parsed.dataOffset
            tensorIndex = Dictionary(uniqueKeysWithValues: parsed.tensors.enumerated().map { ($1.name, $0) })
        } catch {
            if let mapping { munmap(mapping, size) }
            throw error
        }
    }

    deinit {
        if let mapping { munmap(mapping, fileSize) }
    }

    /// The tensor named `name`, or nil.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The stored bytes of `tensor` (a view into the mapping, valid while this object lives).
    public func rawBytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        guard let mapping, tensor.byteCount > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: mapping + dataOffset + tensor.offset, count: tensor.byteCount)
    }

    /// Decodes `tensor` into `tensor.elementCount` floats at `destination`; throws if its type is
    /// not one ``GGMLType/dequantize(_:count:into:)`` supports.
    public func dequantize(_ tensor: GGUFTensorInfo, into destination: UnsafeMutablePointer<Float>) throws {
        guard tensor.type.isSupported else {
            throw GGUFError(path, offset: tensor.infoOffset,
                            "tensor '\(tensor.name)' has ggml type \(tensor.type.rawValue) (\(tensor.type.name)), which Monolith cannot decode (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)")
        }
        guard tensor.elementCount > 0, let start = rawBytes(of: tensor).baseAddress else { return }
        tensor.type.dequantize(start, count: tensor.elementCount, into: destination)
    }

    /// `tensor` decoded to floats, in storage order (``GGUFTensorInfo/dimensions`` `ne0` fastest).
    public func floats(of tensor: GGUFTensorInfo) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
            if let base = buffer.baseAddress { try dequantize(tensor, into: base) }
            count = tensor.elementCount
        }
    }

    /// The tensor named `name` decoded to floats; throws if there is none.
    public func floats(named name: String) throws -> [Float] {
        try floats(of: requireTensor(named: name))
    }

    /// The tensor named `name`; throws a ``GGUFError`` naming the file if there is none.
    public func requireTensor(named name: String) throws -> GGUFTensorInfo {
        guard let t = tensor(named: name) else { throw GGUFError(path, "no tensor named '\(name)'") }
        return t
    }
}
