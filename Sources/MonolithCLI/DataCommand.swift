import ArgumentParser
import Foundation
import MonolithData
import MonolithKernels
import MonolithTokenizer

/// `monolith data …`: the MT-NLG-style curation pipeline — dedup, decontaminate, tokenize into
/// Megatron indexed datasets, and inspect or sample them.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Data curation: tokenize into Megatron .bin/.idx, dedup, decontaminate, inspect, sample.",
        subcommands: [DataPreprocess.self, DataDedup.self, DataDecontaminate.self, DataInspect.self, DataSamples.self])
}

/// Options shared by the commands that read documents.
struct DocumentInputOptions: ParsableArguments {
    @Option(name: .customLong("input"), parsing: .upToNextOption,
            help: "Input files: .jsonl/.json/.ndjson (one JSON object per line) or text.")
    var inputs: [String]
    @Option(help: "JSONL field holding the text.") var jsonKey = "text"
    @Flag(help: "Stop at the first bad document (invalid UTF-8, malformed JSON, missing field, empty) instead of skipping it.")
    var strict = false
    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of skipping the document.") var repairUtf8 = false
    @Option(help: "Print at most this many skipped documents of each kind (all are counted).") var maxReports = 20
    @Flag(help: "No progress lines on standard error.") var quiet = false
}

struct DataPreprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Tokenize text or JSONL into a Megatron MMapIndexedDataset (PREFIX.bin + PREFIX.idx).",
        discussion: """
            One document per JSONL line; a text file is one document unless --split-lines. Tokens are \
            uint16 when the vocabulary has fewer than 65,500 ids, else int32 (megatron-core's rule). \
            Bad documents are reported with file, line and byte offset, skipped and counted in the \
            summary (or fatal with --strict). megatron-core's IndexedDataset reads the output.
            """)

    @OptionGroup var input: DocumentInputOptions
    @Option(help: "Tokenizer directory (tokenizer.json, vocab.json+merges.txt, encoder.json+vocab.bpe, *.tiktoken, char_tokenizer.json) or one such file.")
    var tokenizer: String
    @Option(help: "Output prefix: writes PREFIX.bin and PREFIX.idx.") var output: String
    @Flag(help: "Append the end-of-text token to every document (needed for GPT training).") var appendEod = false
    @Flag(help: "In text files, each line is a document.") var splitLines = false
    @Option(help: "Tokenizing threads (default: all cores, or MONOLITH_THREADS).") var workers: Int?

    func run() throws {
        var config = PreprocessConfig(inputs: input.inputs, outputPrefix: output)
        config.jsonKey = input.jsonKey
        config.splitLines = splitLines
        config.appendEOD = appendEod
        config.workers = workers
        config.strict = input.strict
        config.repairUTF8 = input.repairUtf8
        config.maxReports = input.maxReports
        config.progress = !input.quiet
        try config.validate()
        let tok = try loadDataTokenizer(tokenizer)
        let summary = try Preprocessor.run(config, tokenizer: tok)
        for line in summary.lines(prefix: output) { print(line) }
    }
}

/// Loads the tokenizer at `path` (a directory or one file), turning its errors into a usage error.
func loadDataTokenizer(_ path: String) throws -> any TextTokenizer {
    do { return try Tokenizer.load(path: path) } catch let e as TokenizerError {
        throw ValidationError(e.description)
    }
}

struct DataInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a .bin/.idx pair and print its counts and first documents' token ids.")

    @Argument(help: "Dataset prefix (without .bin/.idx).") var prefix: String
    @Option(help: "Documents to show.") var documents = 3
    @Option(help: "Token ids to show per document.") var tokens = 32
    @Option(help: "Tokenizer directory, to also print the documents' text.") var tokenizer: String?
    @Option(help: "Write every sequence and the document indices as JSON (for scripts/make_megatron_fixtures.py --check).")
    var dumpJson: String?

    func run() throws {
        let ds = try IndexedDataset(prefix: prefix)
        print("\(prefix): \(ds.dtype) tokens (code \(ds.dtype.rawValue)), \(ds.documentCount) documents, "
              + "\(ds.sequenceCount) sequences, \(ds.tokenCount) tokens")
        if ds.sequenceCount > 0 {
            let lengths = (0..<ds.sequenceCount).map(ds.length)
            print("sequence length: min \(lengths.min()!), mean \(ProgressMeter.format(Double(ds.tokenCount) / Double(ds.sequenceCount), 1)), max \(lengths.max()!)")
        }
        let tok = try tokenizer.map(loadDataTokenizer)
        for d in 0..<min(documents, ds.documentCount) {
            let ids = ds.tokens(document: d)
            let shown = ids.prefix(tokens).map(String.init).joined(separator: " ")
            print("document \(d) (\(ids.count) tokens): \(shown)\(ids.count > tokens ? " …" : "")")
            if let tok { print("  text: \(tok.decode(Array(ids.prefix(tokens))).debugDescription)") }
        }
        if let dumpJson {
            let spec: [String: Any] = [
                "dtype_code": Int(ds.dtype.rawValue),
                "sequences": (0..<ds.sequenceCount).map { ds.tokens(sequence: $0).map(Int.init) },
                "document_indices": (0..<ds.documentIndexCount).map(ds.documentIndex),
            ]
            try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: dumpJson))
            print("wrote \(dumpJson)")
        }
    }
}
