import Foundation
import MonolithKernels

// Helpers that several test targets need. Test targets cannot import each other, so they share
// this small library target, which only test targets depend on.

/// `max|a − b| / max|b|`: the error relative to the reference tensor's scale (NaN-free inputs).
public func relativeError(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> Float {
    precondition(a.count == b.count, "relativeError: \(a.count) values against \(b.count)")
    var maxDiff: Float = 0, maxRef: Float = 0
    for i in 0..<b.count {
        maxDiff = max(maxDiff, abs(a[i] - b[i]))
        maxRef = max(maxRef, abs(b[i]))
    }
    return maxDiff / max(maxRef, 1e-30)
}

/// `max|a − b| / max|b|` of two arrays.
public func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    a.withUnsafeBufferPointer { relativeError($0, b) }
}

/// `max|a − b| / max|b|` against a float64 reference; NaN if any difference is NaN.
public func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    maxAbsDifference(a, b) / max(b.map(abs).max() ?? 0, 1e-30)
}

/// Largest `|a − b|` over two equally long sequences; NaN if any difference is NaN (`Swift.max`
/// would silently drop it).
public func maxAbsDifference(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "maxAbsDifference: \(a.count) values against \(b.count)")
    var worst = 0.0
    for i in a.indices {
        let d = abs(Double(a[i]) - b[i])
        if d.isNaN { return .nan }
        worst = max(worst, d)
    }
    return worst
}

/// Deterministic test data from ``SplitMix64``, so every test draws the same inputs on every run
/// and machine and a failure reproduces exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var base: SplitMix64

    public init(seed: UInt64) { base = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { base.next() }

    /// `count` uniform floats in `range`.
    public mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &self) }
    }

    /// An integer in `range` (modulo draw: slightly biased, but fixed for a seed).
    public mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// The committed fixtures under `Tests/Fixtures/`, found from this file's path (test targets
/// declare no resources).
public enum TestFixtures {
    /// `Tests/Fixtures` of the repository.
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The path of `relative` (e.g. `"megatron/indexed.json"`) under `Tests/Fixtures`.
    public static func path(_ relative: String) -> String { directory.appendingPathComponent(relative).path }

    /// Decodes the JSON fixture at `relative`.
    public static func json<T: Decodable>(_ type: T.Type, _ relative: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }
}

/// The path of `file` in Monolith's user cache (`$XDG_CACHE_HOME/monolith` or `~/.cache/monolith`,
/// where `monolith fetch` puts registry models), if it is there.
public func cachedAsset(_ file: String) -> String? {
    let env = ProcessInfo.processInfo.environment
    let root = (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")) + "/monolith"
    let path = root + "/" + file
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

/// `../shared/data/<relative>` beside the repository (the shared corpora; tests that read them
/// are skipped where it is missing).
public func sharedDataPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/" + relative).path
}
