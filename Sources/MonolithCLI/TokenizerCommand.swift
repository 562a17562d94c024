import ArgumentParser
import Foundation
import MonolithTokenizer

/// `monolith tokenizer …`: encode, decode and train tokenizers.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "GPT-2 byte-level BPE and character tokenizers: encode, decode, train.",
        subcommands: [TokenizerEncode.self, TokenizerDecode.self, TokenizerTrain.self])
}

/// How text files are read: invalid UTF-8 is an error unless the user asks for replacement.
struct TextInputOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Decode invalid UTF-8 with U+FFFD (as Python's errors=\"replace\").",
        discussion: "By default a file that is not valid UTF-8 is rejected with its name and the byte offset of the first invalid byte."))
    var replaceInvalid = false

    /// The text of `path` ("-" reads standard input).
    func read(_ path: String) throws -> String {
        let bytes: [UInt8]
        if path == "-" {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TokenizerError(file: path, "no such file or not readable")
            }
            bytes = [UInt8](data)
        }
        return try UTF8Text.decode(bytes, file: path == "-" ? "<stdin>" : path, replaceInvalid: replaceInvalid)
    }
}

/// Writes bytes to standard output in one call (printing a million ids through `print` is slow).
func writeStandardOutput(_ bytes: [UInt8]) {
    FileHandle.standardOutput.write(Data(bytes))
}

struct TokenizerEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Print the token ids of a text file, separated by spaces.")

    @Option(help: "Tokenizer directory (tokenizer.json, vocab.json+merges.txt, encoder.json+vocab.bpe, *.tiktoken or char_tokenizer.json) or one such file.")
    var tokenizer: String
    @OptionGroup var input: TextInputOptions
    @Argument(help: "Text file to encode ('-' for standard input).") var file: String

    func run() throws {
        let tok = try loadTokenizer(tokenizer)
        let ids: [Int32]
        if file == "-" {
            let text = try input.read(file)
            if let chars = tok as? CharTokenizer {
                do { ids = try chars.encodeChecked(text) } catch let e as TokenizerError {
                    throw TokenizerError(file: "<stdin>", e.message)
                }
            } else {
                ids = tok.encode(text)
            }
        } else {
            ids = try tok.encode(file: file, replaceInvalid: input.replaceInvalid)
        }
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 6 + 1)
        for (i, id) in ids.enumerated() {
            if i > 0 { out.append(0x20) }
            out.append(contentsOf: String(id).utf8)
        }
        out.append(0x0A)
        writeStandardOutput(out)
    }
}

struct TokenizerDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Print the text of token ids (separated by spaces or newlines).",
        discussion: "Ids whose bytes end mid-character decode to U+FFFD, as tiktoken's decode(errors=\"replace\").")

    @Option(help: "Tokenizer directory.") var tokenizer: String
    @Argument(help: "File of token ids ('-' or nothing for standard input).") var file: String = "-"

    func run() throws {
        let tok = try loadTokenizer(tokenizer)
        let name = file == "-" ? "<stdin>" : file
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else {
                throw TokenizerError(file: file, "no such file or not readable")
            }
            data = d
        }
        let ids = try parseIDs([UInt8](data), file: name, vocabularySize: tok.vocabularySize)
        writeStandardOutput(Array(tok.decode(ids).utf8))
    }

    /// Whitespace-separated decimal ids, each checked against the vocabulary.
    func parseIDs(_ bytes: [UInt8], file: String, vocabularySize: Int) throws -> [Int32] {
        var ids: [Int32] = []
        var line = 1, i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0A { line += 1; i += 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x2C { i += 1; continue }
            var j = i
            while j < bytes.count, ![0x20, 0x09, 0x0A, 0x0D, 0x2C].contains(bytes[j]) { j += 1 }
            let word = String(decoding: bytes[i..<j], as: UTF8.self)
            guard let id = Int(word) else { throw TokenizerError(file: file, line: line, "'\(word)' is not a token id") }
            guard id >= 0 && id < vocabularySize else {
                throw TokenizerError(file: file, line: line, "token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
            ids.append(Int32(id))
            i = j
        }
        return ids
    }
}

/// Loads a tokenizer directory or file; its errors name the file (ArgumentParser prints them as they are).
func loadTokenizer(_ path: String) throws -> any TextTokenizer {
    try Tokenizer.load(path: path)
}

struct TokenizerTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a byte-level BPE (or, with --char, a character-level) tokenizer.",
        discussion: """
            BPE training matches Hugging Face's BpeTrainer with the ByteLevel alphabet: GPT-2 \
            pre-tokenization line by line, merges by pair count, ties to the smallest pair of ids. \
            Writes tokenizer.json, vocab.json and merges.txt (or char_tokenizer.json) into --output.
            """)

    @Option(help: "Vocabulary size, special and byte tokens included (BPE only).") var vocabSize: Int?
    @Option(help: "Output directory (created if needed).") var output: String
    @Option(help: "Comma-separated special tokens, given the first ids ('' for none).")
    var specialTokens = "<|endoftext|>"
    @Option(help: "Minimum count of a pair to be merged.") var minFrequency = 0
    @Flag(help: "Train a character-level tokenizer (sorted distinct characters, as nanoGPT's shakespeare_char).")
    var char = false
    @OptionGroup var input: TextInputOptions
    @Argument(help: "Training text files.") var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one training file") }
        if char {
            if vocabSize != nil { throw ValidationError("--vocab-size does not apply to --char (the vocabulary is the text's characters)") }
        } else {
            guard let v = vocabSize else { throw ValidationError("--vocab-size is required for BPE training") }
            if v < 1 { throw ValidationError("--vocab-size must be positive") }
        }
        if minFrequency < 0 { throw ValidationError("--min-frequency must not be negative") }
    }

    func run() throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
        if char {
            var scalars = Set<Unicode.Scalar>()
            for f in files { scalars.formUnion(try input.read(f).unicodeScalars) }
            let tok = CharTokenizer(characters: scalars)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let path = (output as NSString).appendingPathComponent(CharTokenizer.fileName)
            try tok.save(to: path)
            print("character tokenizer: \(tok.vocabularySize) characters from \(files.count) file(s) -> \(path)")
            return
        }
        let counts = PreTokenCounts()
        counts.add(try files.map { try input.read($0) })
        let counted = seconds()
        let specials = specialTokens.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
        let trained: TrainedBPE
        trained = try BPETrainer.train(counts, options: BPETrainingOptions(
            vocabularySize: vocabSize!, specialTokens: specials, minFrequency: Int64(minFrequency)))
        let done = seconds()
        try trained.write(to: output)
        print(String(format: "trained on %d file(s), %.1f MB, %d pre-tokens (%d distinct): %d tokens, %d merges " +
                     "in %.2f s (counting %.2f s, merging %.2f s) -> %@",
                     files.count, Double(counts.bytes) / 1e6, counts.total, counts.distinct, trained.vocabularySize,
                     trained.merges.count, done, counted, done - counted, output))
        if trained.vocabularySize < vocabSize! {
            print("note: the text has no more pairs to merge; the vocabulary is \(trained.vocabularySize), not \(vocabSize!)")
        }
    }
}
