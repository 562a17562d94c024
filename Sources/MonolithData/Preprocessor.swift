#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MonolithKernels
import MonolithTokenizer
import Synchronization

/// Tokenizes text or JSONL documents into a Megatron MMapIndexedDataset, in a three-stage pipeline:
///
/// 1. a reader thread cuts files into batches of raw documents (`DocumentReader`);
/// 2. the calling thread validates, decodes and tokenizes each batch on the worker pool, one
///    document at a time per worker (dynamic scheduling, since documents vary in length);
/// 3. a writer thread appends the batch's tokens in input order (`IndexedDatasetWriter`), records
///    skipped documents (`IssueLog`) and prints progress.
///
/// Bounded queues between the stages let reading and writing hide behind tokenization, the only
/// expensive step. Output order equals input order whatever the worker count, so runs are
/// reproducible.
///
/// ```swift
/// var config = PreprocessConfig(inputs: ["corpus.jsonl"], outputPrefix: "data/corpus")
/// config.appendEOD = true
/// let summary = try Preprocessor.run(config, tokenizer: gpt2)
/// ```
public enum Preprocessor {
    /// Runs the pipeline; returns the summary. With `config.strict`, the first bad document
    /// throws `DataError.badInput` and no output files are created.
    public static func run(_ config: PreprocessConfig, tokenizer: any TextTokenizer,
                           pool: WorkerPool? = nil) throws -> PreprocessSummary {
        try config.validate()
        let eod: Int32? = config.appendEOD ? tokenizer.endOfText : nil
        if config.appendEOD && eod == nil {
            throw DataError.invalidArgument("--append-eod: the tokenizer has no end-of-text token")
        }
        let workers = pool ?? {
            guard let n = config.workers, n != WorkerPool.shared.threadCount else { return WorkerPool.shared }
            return WorkerPool(threads: n)
        }()
        // Unreadable inputs fail before the output is created, not after hours of tokenizing.
        for path in config.inputs where access(path, R_OK) != 0 {
            throw DataError.io(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        let dtype = TokenDType.optimal(vocabularySize: tokenizer.vocabularySize)
        let writer = try IndexedDatasetWriter(prefix: config.outputPrefix, dtype: dtype)
        let decoder = DocumentDecoder(key: config.jsonKey, repairUTF8: config.repairUTF8, paths: config.inputs)
        let shared = PipelineState()
        let raw = BoundedQueue<Stage<[RawDocument]>>(capacity: 3)
        let done = BoundedQueue<Stage<ProcessedBatch>>(capacity: 3)
        let meter = ProgressMeter(label: "preprocess", enabled: config.progress)

        let reader = BackgroundThread {
            do {
                try DocumentReader.read(files: config.inputs, splitLines: config.splitLines, batchBytes: config.batchBytes) { batch in
                    raw.push(.items(batch)) && !shared.cancelled.load(ordering: .relaxed)
                }
            } catch {
                raw.push(.failure(error))
            }
            raw.close()
        }
        let sink = WriterSink(writer: writer, log: IssueLog(strict: config.strict, maxReports: config.maxReports),
                              eod: eod, meter: meter)
        let output = BackgroundThread {
            while let stage = done.pop() {
                if shared.cancelled.load(ordering: .relaxed) { continue }
                do {
                    switch stage {
                    case let .items(batch): try sink.consume(batch)
                    case let .failure(error): throw error
                    }
                } catch {
                    shared.fail(error)
                }
            }
        }
        while let stage = raw.pop() {
            if shared.cancelled.load(ordering: .relaxed) { continue }
            switch stage {
            case let .items(batch): done.push(.items(process(batch, decoder: decoder, tokenizer: tokenizer, pool: workers)))
            case let .failure(error): done.push(.failure(error))
            }
        }
        done.close()
        reader.join()
        output.join()
        meter.finish()
        if let error = shared.error {
            writer.abandon()
            throw error
        }
        try writer.finalize()
        var summary = sink.summary
        summary.files = config.inputs.count
        summary.dtype = dtype
        summary.seconds = meter.elapsed
        return summary
    }

    /// Decodes and tokenizes one batch on the pool; results keep the batch order.
    static func process(_ batch: [RawDocument], decoder: DocumentDecoder, tokenizer: any TextTokenizer,
                        pool: WorkerPool) -> ProcessedBatch {
        var results = [Processed](repeating: .skip(nil), count: batch.count)
        let next = Atomic<Int>(0)
        results.withUnsafeMutableBufferPointer { out in
            pool.run { _ in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= batch.count { break }
                    switch decoder.decode(batch[i]) {
                    case let .skip(issue): out[i] = .skip(issue)
                    case let .text(bytes, _, _, repaired):
                        out[i] = .tokens(tokenizer.encode(String(decoding: bytes, as: UTF8.self)), repaired: repaired)
                    }
                }
            }
        }
        return ProcessedBatch(results: results, bytes: batch.reduce(0) { $0 + $1.range.count })
    }
}

/// A batch or an error travelling down the pipeline.
enum Stage<T: Sendable>: Sendable {
    case items(T)
    case failure(any Error)
}

/// The outcome of one document.
enum Processed: Sendable {
    case tokens([Int32], repaired: Bool)
    case skip(InputIssue?)
}

/// A tokenized batch, in input order.
struct ProcessedBatch: Sendable {
    var results: [Processed]
    var bytes: Int
}

/// Cross-thread state: the first error wins and cancels the other stages.
final class PipelineState: @unchecked Sendable {
    let cancelled = Atomic<Bool>(false)
    private let firstError = Mutex<(any Error)?>(nil)

    var error: (any Error)? { firstError.withLock { $0 } }

    func fail(_ error: any Error) {
        firstError.withLock { if $0 == nil { $0 = error } }
        cancelled.store(true, ordering: .relaxed)
    }
}

/// The writer stage: owned by the writer thread only.
final class WriterSink: @unchecked Sendable {
    let writer: IndexedDatasetWriter
    let log: IssueLog
    let eod: Int32?
    let meter: ProgressMeter
    var summary = PreprocessSummary()

    init(writer: IndexedDatasetWriter, log: IssueLog, eod: Int32?, meter: ProgressMeter) {
        self.writer = writer; self.log = log; self.eod = eod; self.meter = meter
    }

    func consume(_ batch: ProcessedBatch) throws {
        for result in batch.results {
            summary.documentsIn += 1
            switch result {
            case .tokens(var tokens, let repaired):
                if let eod { tokens.append(eod) }
                try writer.addDocument(tokens)
                summary.documentsOut += 1
                summary.tokens += Int64(tokens.count)
                if repaired { summary.repaired += 1 }
            case let .skip(issue):
                if let issue {
                    try log.record(issue)
                    summary.skipped[issue.kind.rawValue, default: 0] += 1
                }
            }
        }
        summary.bytes += Int64(batch.bytes)
        meter.update(documents: summary.documentsIn, bytes: Int(summary.bytes), extra: ", \(summary.tokens) tokens")
    }
}
