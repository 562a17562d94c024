import MonolithKernels

/// GPT-2's byte-level BPE tokenizer: encodes and decodes exactly as tiktoken's `r50k_base`
/// (with `allowed_special="all"`) when loaded from GPT-2's files in any of their formats.
///
/// ```swift
/// let tokenizer = try BPETokenizer.loadTiktoken(NSHomeDirectory() + "/.cache/monolith/gpt2.tiktoken")
/// tokenizer.encode("Hello world!")      // [15496, 995, 0]
/// tokenizer.decode([15496, 995, 0])     // "Hello world!"
/// ```
///
/// Encoding is thread-safe. Inputs over `parallelThreshold` bytes are cut at safe boundaries
/// (see `ParallelEncoding.swift`) and encoded on `WorkerPool.shared`'s threads.
public final class BPETokenizer: TextTokenizer, @unchecked Sendable {
    let model: BPEModel
    let workspaces = WorkspacePool()
    /// Where the tokenizer was loaded from, for messages.
    public let source: String

    /// Special tokens (matched in text) and their ids.
    public let specialTokens: [String: Int32]
    /// The end-of-sequence id: `<|endoftext|>` if it is a special token, or the id the file
    /// names (GGUF's `tokenizer.ggml.eos_token_id`).
    public let endOfText: Int32?
    /// The ids with a role (BOS, EOS, unknown, padding) and whether prompts get BOS and EOS.
    public let roles: TokenRoles

    /// Inputs at least this long (in UTF-8 bytes) are encoded in parallel chunks: below it, waking
    /// a second thread and warming its word cache cost more than they save.
    public let parallelThreshold = 256 * 1024

    /// A tokenizer over `model`; without `roles`, `<|endoftext|>` (if special) is EOS, as in GPT-2.
    init(model: BPEModel, source: String, roles: TokenRoles? = nil) {
        self.model = model
        self.source = source
        let specials = Dictionary(model.specialTokens, uniquingKeysWith: { a, _ in a })
        specialTokens = specials
        self.roles = roles ?? TokenRoles(end: specials["<|endoftext|>"])
        endOfText = self.roles.end
    }

    /// The beginning-of-sequence id, if the file names one.
    public var beginningOfText: Int32? { roles.beginning }
    /// Whether a prompt starts with `beginningOfText` (llama.cpp's `add_bos`).
    public var addsBOS: Bool { roles.addsBeginning }
    /// Whether a prompt ends with `endOfText` (llama.cpp's `add_eos`).
    public var addsEOS: Bool { roles.addsEnd }
    /// The pattern that cuts text into pieces before BPE.
    public var preTokenizer: PreTokenizerKind { model.preTokenizer }

    /// Number of ids: one more than the largest id (50257 for GPT-2).
    public var vocabularySize: Int { model.size }

    /// The bytes of token `id`, or nil if `id` is not in the vocabulary.
    public func bytes(ofToken id: Int32) -> [UInt8]? {
        guard id >= 0 && Int(id) < model.size else { return nil }
        return Array(model.tokenBytes[model.tokenOffsets[Int(id)]..<model.tokenOffsets[Int(id) + 1]])
    }

    /// The id of the ordinary (non-special) token whose bytes are `bytes`.
    public func id(ofTokenBytes bytes: [UInt8]) -> Int32? { model.id(of: bytes) }

    /// Token ids of `text`; special tokens spelled in it map to their ids.
    public func encode(_ text: String) -> [Int32] {
        encode(text, pool: .shared)
    }

    /// Token ids of `text`, using `pool`'s threads for long inputs.
    public func encode(_ text: String, pool: WorkerPool) -> [Int32] {
        var text = text
        return text.withUTF8 { encodeValidUTF8($0, pool: pool) }
    }

    /// Token ids of `text` as llama.cpp's `llama_tokenize(text, add_special, parse_special)`
    /// makes them: with `addSpecial`, BOS first and EOS last where the tokenizer adds them; with
    /// `parseSpecial` off, control tokens spelled in the text are encoded as ordinary text (GGUF's
    /// user-defined tokens are still matched, as llama.cpp and Hugging Face do).
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool = true, pool: WorkerPool = .shared) -> [Int32] {
        var text = text
        let body = text.withUTF8 { encodeValidUTF8($0, pool: pool, parseSpecial: parseSpecial) }
        guard addSpecial else { return body }
        return roles.wrap(body)
    }

    /// Token ids of UTF-8 `bytes`, which are checked first.
    /// - Throws: `TokenizerError` with the offset of the first invalid byte.
    public func encode(utf8 bytes: UnsafeBufferPointer<UInt8>, pool: WorkerPool = .shared) throws -> [Int32] {
        if let offset = UTF8Text.firstInvalidOffset(bytes) {
            throw TokenizerError("invalid UTF-8 at byte offset \(offset)")
        }
        return encodeValidUTF8(bytes, pool: pool)
    }

    /// Token ids of `text` and what encoding cost each thread (for benchmarks).
    public func encodeWithStatistics(_ text: String, pool: WorkerPool = .shared) -> ([Int32], EncodeStatistics) {
        var text = text
        var statistics = EncodeStatistics()
        let ids = text.withUTF8 { encodeValidUTF8($0, pool: pool, statistics: &statistics) }
        return (ids, statistics)
    }

    func encodeValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>, pool: WorkerPool, parseSpecial: Bool = true,
                         statistics: UnsafeMutablePointer<EncodeStatistics>? = nil) -> [Int32] {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return [] }
        if bytes.count >= parallelThreshold && pool.threadCount > 1 {
            return ParallelEncoding.encode(model, base, bytes.count, workspaces: workspaces, pool: pool,
                                           parseSpecial: parseSpecial, statistics: statistics)
        }
        let c0 = statistics == nil ? 0 : threadCPUSeconds()
        let ws = workspaces.take()
        defer { workspaces.give(ws) }
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 16)
        model.encode(base, 0, bytes.count, ws, &out, parseSpecial: parseSpecial)
        statistics?.pointee = EncodeStatistics(threadCPUSeconds: [threadCPUSeconds() - c0], chunks: 1)
        return out
    }

    /// The text of `ids`. Bytes that do not form valid UTF-8 (a sequence cut mid-character)
    /// become U+FFFD exactly as tiktoken's `decode(errors="replace")`; ids outside the
    /// vocabulary become U+FFFD too (tiktoken raises; use `decodeBytes` to detect them).
    public func decode(_ ids: [Int32]) -> String {
        let (bytes, unknown) = model.bytes(of: ids)
        if unknown == 0 { return String(decoding: bytes, as: UTF8.self) }
        var bytesWithMarks: [UInt8] = []
        for id in ids {
            if let b = self.bytes(ofToken: id) { bytesWithMarks += b } else { bytesWithMarks += [0xEF, 0xBF, 0xBD] }
        }
        return String(decoding: bytesWithMarks, as: UTF8.self)
    }

    /// The raw bytes of `ids`.
    /// - Throws: `TokenizerError` naming the first id outside the vocabulary.
    public func decodeBytes(_ ids: [Int32]) throws -> [UInt8] {
        if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= model.size }) {
            throw TokenizerError("token id \(ids[bad]) at position \(bad) is outside the vocabulary (0..<\(model.size))")
        }
        return model.bytes(of: ids).bytes
    }

    /// Forgets cached words, so the next encode runs cold (benchmarks compare cold runs).
    public func clearCaches() { workspaces.clearCaches() }
}
