import Foundation
import MonolithKernels
import Testing
@testable import MonolithTokenizer

/// Training reproduces Hugging Face's BpeTrainer, is deterministic, and writes files that load.
@Suite struct TrainerTests {
    static let expected = try! Fixtures.json("hf_trained/expected.json")

    static func train(pool: WorkerPool = .shared, vocabularySize: Int? = nil, extra: [String] = []) throws -> TrainedBPE {
        let counts = PreTokenCounts()
        let sources = expected["sources"]!.array!.map { $0.string! } + extra
        counts.add(sources.map { String(decoding: Fixtures.bytes(Fixtures.sharedData + "/" + $0), as: UTF8.self) }, pool: pool)
        return try BPETrainer.train(counts, options: BPETrainingOptions(
            vocabularySize: vocabularySize ?? expected["vocab_size"]!.int!, specialTokens: ["<|endoftext|>"]))
    }

    @Test func mergesEqualHuggingFace() throws {
        let trained = try TrainerTests.train()
        let hf = TrainerTests.expected["merges"]!.array!.map { [$0.array![0].string!, $0.array![1].string!] }
        let mine = trained.merges.map { [trained.spellings[Int($0.0)], trained.spellings[Int($0.1)]] }
        #expect(mine.count == hf.count)
        if let i = (0..<min(mine.count, hf.count)).first(where: { mine[$0] != hf[$0] }) {
            Issue.record("first different merge at rank \(i): \(mine[i]) vs Hugging Face \(hf[i])")
        }
        #expect(trained.vocabularySize == TrainerTests.expected["vocab_size"]!.int!)
        #expect(trained.spellings[0] == "<|endoftext|>")
        #expect(trained.spellings[1] == "!")  // the byte tokens follow in scalar order of their spellings
    }

    /// The tokenizer.json Hugging Face wrote loads in Monolith and encodes as Hugging Face does,
    /// with merges as pairs (tokenizers ≥ 0.20) or as "a b" strings (older files).
    @Test(arguments: ["hf_trained", "hf_trained_legacy"])
    func huggingFaceFileEncodesAsHuggingFace(_ directory: String) throws {
        let tok = try BPETokenizer.load(directory: Fixtures.directory + "/" + directory)
        for (source, value) in TrainerTests.expected["encodings"]!.members! {
            let text = String(String(decoding: Fixtures.bytes(Fixtures.sharedData + "/" + source), as: UTF8.self)
                .unicodeScalars.prefix(value["characters"]!.int!))
            #expect(tok.encode(text + "<|endoftext|>") == value["ids"]!.array!.map { Int32($0.int!) }, "\(source)")
        }
    }

    /// Same merges with counting on 1, 2 or 3 threads (1.3 MB of text: above the parallel threshold).
    @Test func deterministicAcrossRunsAndThreadCounts() throws {
        let extra = ["tinyshakespeare/input.txt"]
        let a = try TrainerTests.train(pool: .serial, vocabularySize: 3000, extra: extra)
        let b = try TrainerTests.train(pool: WorkerPool(threads: 3), vocabularySize: 3000, extra: extra)
        let c = try TrainerTests.train(vocabularySize: 3000, extra: extra)
        #expect(a.spellings == b.spellings && a.spellings == c.spellings)
        #expect(a.merges.map { [$0.0, $0.1] } == b.merges.map { [$0.0, $0.1] })
        #expect(a.merges.map { [$0.0, $0.1] } == c.merges.map { [$0.0, $0.1] })
    }

    /// The three files written load to the same tokenizer as the in-memory result.
    @Test func writtenFilesLoadAndAgree() throws {
        let trained = try TrainerTests.train(vocabularySize: 700)
        let dir = Fixtures.temporaryDirectory("trained")
        try trained.write(to: dir)
        let fromJSON = try BPETokenizer.loadTokenizerJSON(dir + "/tokenizer.json")
        let fromText = try BPETokenizer.loadHuggingFace(vocab: dir + "/vocab.json", merges: dir + "/merges.txt")
        let direct = try trained.tokenizer()
        let text = try Fixtures.corpora[0].text() + "<|endoftext|> héllo 日本 😀"
        let ids = direct.encode(text)
        #expect(fromJSON.encode(text) == ids)
        #expect(fromText.encode(text) == ids)
        #expect(direct.decode(ids) == text)
        #expect(direct.endOfText == 0 && fromJSON.endOfText == 0 && fromText.endOfText == 0)
        #expect(fromJSON.vocabularySize == 700)
    }

    /// A case small enough to follow by hand, checked against tokenizers 0.23
    /// (`train_from_iterator(["aaab aaab aaab ab ab"])`, vocab 261, no special tokens).
    /// Words: "aaab" ×1, "Ġaaab" ×2, "Ġab" ×2. Pair counts (a,a) 6, (a,b) 5, (Ġ,a) 4 → "aa".
    /// Then (a,b) 5 → "ab"; (aa,ab) 3 → "aaab"; then (Ġ,ab) and (Ġ,aaab) tie at 2 and the
    /// smaller pair of ids — "ab" is older than "aaab" — goes first.
    @Test func smallHandCheckedCase() throws {
        let counts = PreTokenCounts()
        counts.add("aaab aaab aaab ab ab")
        #expect(counts.distinct == 3 && counts.total == 5)
        let trained = try BPETrainer.train(counts, options: BPETrainingOptions(vocabularySize: 256 + 5, specialTokens: []))
        let merges = trained.merges.map { trained.spellings[Int($0.0)] + " " + trained.spellings[Int($0.1)] }
        #expect(merges == ["a a", "a b", "aa ab", "Ġ ab", "Ġ aaab"])
    }

    @Test func vocabularyTooSmallIsRefused() {
        #expect(throws: TokenizerError("vocabulary size 200 is smaller than the 257 special and byte tokens")) {
            try BPETrainer.train(PreTokenCounts(), options: BPETrainingOptions(vocabularySize: 200))
        }
    }
}
