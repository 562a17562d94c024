import Foundation
import Testing
@testable import MonolithData

/// Damaged `.bin/.idx` pairs are refused on open with an error naming the file and the problem.
///
/// A truncated copy (an interrupted `rsync`, a full disk) would otherwise read past the mapping
/// or feed garbage tokens to training hours later. Each case damages one valid pair in one way.
@Suite("Corrupt indexed datasets")
struct CorruptionTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case truncatedBin, extraBinBytes, truncatedIdx, shortHeader, badMagic, badVersion, badDType, floatDType
        case documentIndexNotZero, documentIndexDecreasing, documentIndexWrongEnd, pointerGap, negativeLength
        case hugeCounts, missingBin
        var testDescription: String { rawValue }
    }

    /// What the error must say: the file it names and a phrase describing the inconsistency.
    static func expectation(_ damage: Damage) -> (file: String, phrase: String) {
        switch damage {
        case .truncatedBin: return (".bin", "truncated")
        case .extraBinBytes: return (".bin", "trailing bytes")
        case .truncatedIdx: return (".idx", "truncated")
        case .shortHeader: return (".idx", "shorter than the 34-byte header")
        case .badMagic: return (".idx", "bad magic")
        case .badVersion: return (".idx", "version 2")
        case .badDType: return (".idx", "unknown dtype code 9")
        case .floatDType: return (".idx", "not a token type")
        case .documentIndexNotZero: return (".idx", "document index 0 is 1")
        case .documentIndexDecreasing: return (".idx", "below the previous")
        case .documentIndexWrongEnd: return (".idx", "the last document index")
        case .pointerGap: return (".idx", "starts at byte")
        case .negativeLength: return (".idx", "negative length")
        case .hugeCounts: return (".idx", "more than a")
        case .missingBin: return (".bin", "cannot open")
        }
    }

    @Test("a damaged pair is refused with a precise error", arguments: Damage.allCases)
    func damagedPairIsRefused(damage: Damage) throws {
        let dir = TemporaryDirectory()
        let prefix = dir.file("d")
        let writer = try IndexedDatasetWriter(prefix: prefix, dtype: .uint16)
        for n in [5, 3, 7, 4] { try writer.addDocument((0..<Int32(n)).map { $0 + 10 }) }
        try writer.finalize()
        var idx = [UInt8](try Data(contentsOf: URL(fileURLWithPath: prefix + ".idx")))
        var bin = [UInt8](try Data(contentsOf: URL(fileURLWithPath: prefix + ".bin")))
        let s = 4  // sequences
        let lengths = 34, pointers = 34 + 4 * s, docs = 34 + 12 * s
        func put64(_ value: Int64, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { for k in 0..<8 { idx[offset + k] = $0[k] } } }
        func put32(_ value: Int32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { for k in 0..<4 { idx[offset + k] = $0[k] } } }
        switch damage {
        case .truncatedBin: bin.removeLast(2)
        case .extraBinBytes: bin += [0, 0]
        case .truncatedIdx: idx.removeLast(3)
        case .shortHeader: idx = Array(idx[0..<20])
        case .badMagic: idx[0] = UInt8(ascii: "X")
        case .badVersion: idx[9] = 2
        case .badDType: idx[17] = 9
        case .floatDType: idx[17] = 7
        case .documentIndexNotZero: put64(1, at: docs)
        case .documentIndexDecreasing: put64(3, at: docs + 8); put64(2, at: docs + 16)
        case .documentIndexWrongEnd: put64(3, at: docs + 8 * 4)
        case .pointerGap: put64(12, at: pointers + 8)
        case .negativeLength: put32(-1, at: lengths + 4)
        case .hugeCounts: put64(1 << 40, at: 18)
        case .missingBin: break
        }
        _ = FileManager.default.createFile(atPath: prefix + ".idx", contents: Data(idx))
        if damage == .missingBin {
            try FileManager.default.removeItem(atPath: prefix + ".bin")
        } else {
            _ = FileManager.default.createFile(atPath: prefix + ".bin", contents: Data(bin))
        }
        let (file, phrase) = Self.expectation(damage)
        do {
            _ = try IndexedDataset(prefix: prefix)
            Issue.record("\(damage) was accepted")
        } catch let error as DataError {
            let message = "\(error)"
            #expect(message.hasPrefix(prefix + file), "error does not start with the file: \(message)")
            #expect(message.contains(phrase), "error lacks '\(phrase)': \(message)")
        }
    }

    @Test("the undamaged pair opens")
    func undamagedPairOpens() throws {
        let dir = TemporaryDirectory()
        let writer = try IndexedDatasetWriter(prefix: dir.file("ok"), dtype: .uint16)
        try writer.addDocument([1, 2, 3])
        try writer.finalize()
        #expect(try IndexedDataset(prefix: dir.file("ok")).tokens(document: 0) == [1, 2, 3])
    }
}
