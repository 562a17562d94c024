import Foundation
import MonolithKernels
import MonolithTestSupport
import Testing
@testable import MonolithData

/// GPT-3-style decontamination: cut 13-gram matches with a 200-character window, drop short
/// pieces, drop documents split more than 10 times.
@Suite("Decontamination")
struct DecontaminationTests {
    /// `count` words of filler text, distinct from the task text.
    static func filler(_ count: Int, seed: UInt64) -> String {
        var rng = SeededGenerator(seed: seed)
        let vocabulary = ["river", "stone", "garden", "window", "morning", "letter", "bridge", "candle", "harbor", "meadow",
                          "lantern", "orchard", "pebble", "thunder", "valley", "whisper"]
        return (0..<count).map { _ in vocabulary[rng.int(0..<vocabulary.count)] }.joined(separator: " ")
    }

    static let task = "The quick brown fox jumps over the lazy dog while the farmer watches from his old red barn door"

    static func run(_ texts: [String], config: DecontaminationConfig = DecontaminationConfig())
        throws -> (DecontaminationResult, DocumentCorpus, TemporaryDirectory) {
        let dir = TemporaryDirectory()
        var lines = ""
        for (i, t) in texts.enumerated() { lines += "{\"id\": \(i), \"text\": " + JSONString.quoted(t) + ", \"source\": \"x\"}\n" }
        let corpus = try DocumentCorpus(paths: [dir.write("train.jsonl", lines)])
        let result = try Decontaminator.run(corpus, tasks: [ArraySlice(Self.task.utf8)], config: config)
        return (result, corpus, dir)
    }

    @Test("a match is cut out with its window; long pieces stay, other fields are preserved")
    func splitsAroundMatch() throws {
        let before = Self.filler(120, seed: 1), after = Self.filler(120, seed: 2)
        // Case and punctuation differ from the task text: matching is on normalized words.
        let contaminated = before + " THE QUICK, brown fox jumps over the lazy dog; while the farmer watches from " + after
        let (result, corpus, dir) = try Self.run([Self.filler(80, seed: 3), contaminated])
        #expect(result.unchanged == 1 && result.split == 1 && result.dropped == 0 && result.piecesWritten == 2)
        #expect(result.affected.count == 1 && result.affected[0].regions == 1)
        #expect(result.affected[0].firstMatch == "THE QUICK, brown fox jumps over the lazy dog; while the farmer watches")
        let pieces = result.pieces[1]
        let text = Array(contaminated.utf8)
        let matchStart = before.utf8.count + 1
        #expect(pieces[0] == 0..<(matchStart - 200))
        // Two 13-grams match (ending at "watches" and at "from"); the window follows the last.
        let matchEnd = matchStart + "THE QUICK, brown fox jumps over the lazy dog; while the farmer watches from".utf8.count
        #expect(pieces[1] == (matchEnd + 200)..<text.count)
        let out = dir.file("out.jsonl")
        try corpus.write(to: out) { i in result.pieces[i] == [0..<corpus.documents[i].text.count] ? .verbatim : .pieces(result.pieces[i]) }
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("{\"id\": 1, \"text\": \"") && lines[1].hasSuffix("\", \"source\": \"x\"}"))
        #expect(!lines.joined().lowercased().contains("lazy dog"))
    }

    @Test("pieces under 200 characters are dropped, and so is a document left with none")
    func shortPieces() throws {
        let (result, _, _) = try Self.run([Self.filler(10, seed: 4) + " " + Self.task + " " + Self.filler(10, seed: 5)])
        #expect(result.dropped == 1 && result.affected[0].action == "dropped: all pieces too short")
    }

    @Test("more than 10 contaminated regions drop the whole document")
    func tooManySplits() throws {
        let gap = " " + Self.filler(90, seed: 6) + " "
        let eleven = (0..<11).map { _ in Self.task }.joined(separator: gap)
        let ten = (0..<10).map { _ in Self.task }.joined(separator: gap)
        let (result, _, _) = try Self.run([eleven, ten])
        #expect(result.affected.map(\.regions) == [11, 10])
        #expect(result.affected[0].action == "dropped: too many splits")
        #expect(result.affected[1].action == "split" && result.affected[1].piecesKept == 9)
    }

    @Test("fewer than 13 shared words is not contamination")
    func shortOverlap() throws {
        let twelve = Self.task.split(separator: " ").prefix(12).joined(separator: " ")
        let (result, _, _) = try Self.run([Self.filler(100, seed: 7) + " " + twelve + " " + Self.filler(100, seed: 8)])
        #expect(result.unchanged == 1 && result.affected.isEmpty)
        let (short, _) = Decontaminator.taskNgrams([ArraySlice("only five words right here".utf8)], n: 13)
        #expect(short.isEmpty)
    }
}
