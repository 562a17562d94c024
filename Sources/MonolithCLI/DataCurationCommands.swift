import ArgumentParser
import Foundation
import MonolithData

/// Writes `value` as pretty JSON to `path`.
func writeJSONReport<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
}

/// The lines every curation command ends with: documents in and out, and every skip.
func inputSummary(_ corpus: DocumentCorpus) -> [String] {
    ["  input: \(corpus.documentsIn) documents (\(ProgressMeter.format(Double(corpus.bytes) / 1e6, 1)) MB) in \(corpus.paths.count) file(s)",
     "  skipped as unreadable: \(corpus.log.total)"] + corpus.log.summaryLines()
}

struct DataDedup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Remove exact and near-duplicate documents (MinHash + LSH over word shingles).",
        discussion: """
            Exact: documents with the same lowercased words. Fuzzy: Jaccard similarity of word \
            5-shingles ≥ --threshold (0.8, as MT-NLG), found by MinHash LSH and verified; clusters \
            keep their first document. Input is JSONL or text (one document per line); the kept \
            documents are written in the same format, lines unchanged. The JSON report lists every \
            removed cluster.
            """)

    @OptionGroup var input: DocumentInputOptions
    @Option(help: "Output file for the kept documents (same format as the input).") var output: String
    @Option(help: "JSON report of the removed clusters.") var report: String
    @Option(help: "exact, fuzzy or both.") var mode = "both"
    @Option(help: "Jaccard similarity threshold.") var threshold = 0.8
    @Option(help: "Words per shingle.") var shingleSize = 5
    @Option(help: "MinHash permutations (multiple of 8).") var numPerm = 128
    @Option(help: "LSH bands (with --rows; default: tuned for the threshold).") var bands: Int?
    @Option(help: "Rows per LSH band.") var rows: Int?
    @Option(help: "Candidate verification: exact (shingle sets) or estimated (MinHash agreement).") var verify = "exact"
    @Option(help: "Seed of the MinHash permutations.") var seed: UInt64 = 42

    func run() throws {
        var config = DedupConfig()
        guard ["exact", "fuzzy", "both"].contains(mode) else { throw ValidationError("--mode must be exact, fuzzy or both, got '\(mode)'") }
        config.exact = mode != "fuzzy"
        config.fuzzy = mode != "exact"
        config.threshold = threshold
        config.shingleSize = shingleSize
        config.permutations = numPerm
        guard let v = DedupConfig.Verification(rawValue: verify) else { throw ValidationError("--verify must be exact or estimated, got '\(verify)'") }
        config.verification = v
        config.seed = seed
        switch (bands, rows) {
        case let (b?, r?): config.banding = LSHParameters(bands: b, rows: r)
        case (nil, nil): break
        default: throw ValidationError("--bands and --rows go together")
        }
        try config.validate()
        let start = monotonicSeconds()
        let corpus = try DocumentCorpus(paths: input.inputs, jsonKey: input.jsonKey, strict: input.strict,
                                        repairUTF8: input.repairUtf8, maxReports: input.maxReports,
                                        progressLabel: input.quiet ? nil : "dedup read")
        let result = try Deduplicator.run(corpus, config: config, progress: !input.quiet)
        let written = try corpus.write(to: output) { result.keep[$0] ? .verbatim : .drop }
        let seconds = monotonicSeconds() - start
        try writeJSONReport(DedupReport(config: config, result: result, documentsIn: corpus.documentsIn,
                                        skipped: corpus.log.counts.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value },
                                        seconds: seconds), to: report)
        print("dedup: wrote \(written) of \(corpus.documentsIn) documents to \(output) in \(ProgressMeter.format(seconds, 1)) s")
        for line in inputSummary(corpus) { print(line) }
        print("  removed \(result.exactRemoved) exact and \(result.fuzzyRemoved) near-duplicates in \(result.clusters.count) clusters")
        if let b = result.banding {
            print("  LSH \(b.bands) bands × \(b.rows) rows: \(result.candidatePairs) candidate pairs verified, \(result.confirmedPairs) confirmed")
        }
        print("  report: \(report)")
    }
}

/// The dedup report file: parameters, counts and the removed clusters.
struct DedupReport: Encodable {
    var config: DedupConfig
    var result: DedupResult
    var documentsIn: Int
    var skipped: [String: Int]
    var seconds: Double

    enum CodingKeys: String, CodingKey {
        case parameters, documentsIn, skipped, documentsValid, documentsOut, exactRemoved, fuzzyRemoved, banding
        case candidatePairs, confirmedPairs, clusters, seconds
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(config, forKey: .parameters)
        try c.encode(documentsIn, forKey: .documentsIn)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(result.documents, forKey: .documentsValid)
        try c.encode(result.kept, forKey: .documentsOut)
        try c.encode(result.exactRemoved, forKey: .exactRemoved)
        try c.encode(result.fuzzyRemoved, forKey: .fuzzyRemoved)
        try c.encodeIfPresent(result.banding, forKey: .banding)
        try c.encode(result.candidatePairs, forKey: .candidatePairs)
        try c.encode(result.confirmedPairs, forKey: .confirmedPairs)
        try c.encode(result.clusters, forKey: .clusters)
        try c.encode(seconds, forKey: .seconds)
    }
}

struct DataDecontaminate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decontaminate",
        abstract: "Cut evaluation-set n-grams out of training documents (GPT-3 / MT-NLG rule).",
        discussion: """
            Every --ngram-word sequence (lowercased words, punctuation ignored) shared with a task \
            file is removed together with --window characters on each side; the remaining pieces \
            become separate documents, pieces under --min-piece characters are dropped, and a \
            document split more than --max-splits times is dropped whole. Task files are JSONL \
            (field --task-key) or text (one item per line).
            """)

    @OptionGroup var input: DocumentInputOptions
    @Option(parsing: .upToNextOption, help: "Evaluation data: JSONL or text files.") var tasks: [String]
    @Option(help: "JSONL field of the task files holding the text.") var taskKey = "text"
    @Option(help: "Output file (same format as the input).") var output: String
    @Option(help: "JSON report of what was removed.") var report: String
    @Option(help: "Words per n-gram.") var ngram = 13
    @Option(help: "Characters removed on each side of a match.") var window = 200
    @Option(help: "Pieces shorter than this many characters are dropped.") var minPiece = 200
    @Option(help: "Documents split more than this many times are dropped.") var maxSplits = 10

    func run() throws {
        var config = DecontaminationConfig()
        config.ngram = ngram
        config.window = window
        config.minimumPieceLength = minPiece
        config.maximumSplits = maxSplits
        try config.validate()
        guard !tasks.isEmpty else { throw ValidationError("--tasks needs at least one file") }
        let start = monotonicSeconds()
        let taskCorpus = try DocumentCorpus(paths: tasks, jsonKey: taskKey, maxReports: input.maxReports)
        let corpus = try DocumentCorpus(paths: input.inputs, jsonKey: input.jsonKey, strict: input.strict,
                                        repairUTF8: input.repairUtf8, maxReports: input.maxReports,
                                        progressLabel: input.quiet ? nil : "decontaminate read")
        let result = try Decontaminator.run(corpus, tasks: taskCorpus.documents.map(\.text), config: config)
        let written = try corpus.write(to: output) { i in
            let pieces = result.pieces[i]
            if pieces.isEmpty { return .drop }
            return pieces == [0..<corpus.documents[i].text.count] ? .verbatim : .pieces(pieces)
        }
        let seconds = monotonicSeconds() - start
        try writeJSONReport(DecontaminationReport(parameters: config, tasks: tasks, taskItems: taskCorpus.documents.count,
                                                  taskSkipped: taskCorpus.log.total, result: result,
                                                  documentsIn: corpus.documentsIn, documentsWritten: written,
                                                  skipped: corpus.log.counts.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value },
                                                  seconds: seconds), to: report)
        print("decontaminate: \(result.taskNgrams) distinct \(ngram)-grams from \(taskCorpus.documents.count) task items "
              + "(\(result.shortTaskItems) shorter than \(ngram) words ignored)")
        for line in inputSummary(corpus) { print(line) }
        print("  unchanged \(result.unchanged), split \(result.split) into \(result.piecesWritten) pieces, dropped \(result.dropped); "
              + "\(result.charactersRemoved) characters removed")
        print("  wrote \(written) documents to \(output) in \(ProgressMeter.format(seconds, 1)) s; report: \(report)")
    }
}

/// The decontamination report file.
struct DecontaminationReport: Encodable {
    var parameters: DecontaminationConfig
    var tasks: [String]
    var taskItems: Int
    var taskSkipped: Int
    var result: DecontaminationResult
    var documentsIn: Int
    var documentsWritten: Int
    var skipped: [String: Int]
    var seconds: Double

    enum CodingKeys: String, CodingKey {
        case parameters, tasks, taskItems, taskSkipped, taskNgrams, shortTaskItems, documentsIn, skipped, documentsValid
        case unchanged, split, dropped, piecesWritten, documentsWritten, charactersRemoved, affected, seconds
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(tasks, forKey: .tasks)
        try c.encode(taskItems, forKey: .taskItems)
        try c.encode(taskSkipped, forKey: .taskSkipped)
        try c.encode(result.taskNgrams, forKey: .taskNgrams)
        try c.encode(result.shortTaskItems, forKey: .shortTaskItems)
        try c.encode(documentsIn, forKey: .documentsIn)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(result.documents, forKey: .documentsValid)
        try c.encode(result.unchanged, forKey: .unchanged)
        try c.encode(result.split, forKey: .split)
        try c.encode(result.dropped, forKey: .dropped)
        try c.encode(result.piecesWritten, forKey: .piecesWritten)
        try c.encode(documentsWritten, forKey: .documentsWritten)
        try c.encode(result.charactersRemoved, forKey: .charactersRemoved)
        try c.encode(result.affected, forKey: .affected)
        try c.encode(seconds, forKey: .seconds)
    }
}
