import Foundation

/// The parts of Python's `random.Random` (3.8–3.13) that lm-eval relies on, drawing exactly the
/// same values from the same seed: `sample` (few-shot examples) and `choices` (bootstrap
/// resamples), on top of ``MersenneTwister``.
///
/// ```swift
/// var rnd = PythonRandom(seed: 1234)
/// rnd.sample(populationCount: 300, k: 6)   // indices, as random.Random(1234).sample(range(300), 6)
/// ```
public struct PythonRandom: Sendable {
    var mt: MersenneTwister

    /// A generator seeded as `random.Random(seed)`.
    public init(seed: Int) { mt = MersenneTwister(seed: seed) }

    /// `random.random()`.
    public mutating func random() -> Double { mt.random() }

    /// `random._randbelow_with_getrandbits(n)`: rejection sampling on `n.bit_length()` bits.
    public mutating func randbelow(_ n: Int) -> Int {
        precondition(n > 0)
        let k = Int.bitWidth - n.leadingZeroBitCount
        var r = Int(mt.getrandbits(k))
        while r >= n { r = Int(mt.getrandbits(k)) }
        return r
    }

    /// `random.sample(population, k)` on a population of `populationCount` items; returns the
    /// chosen indices in draw order. Python switches between two algorithms by population and
    /// sample size (a shrinking pool list, or rejection against a set of chosen indices); both
    /// are reproduced, since they draw different values.
    public mutating func sample(populationCount n: Int, k: Int) -> [Int] {
        precondition((0...n).contains(k), "Sample larger than population or is negative")
        var setsize = 21
        if k > 5 { setsize += Int(pow(4.0, ceil(log(Double(k * 3)) / log(4.0)))) }
        var result: [Int] = []
        result.reserveCapacity(k)
        if n <= setsize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = randbelow(n - i)
                result.append(pool[j])
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for _ in 0..<k {
                var j = randbelow(n)
                while selected.contains(j) { j = randbelow(n) }
                selected.insert(j)
                result.append(j)
            }
        }
        return result
    }

    /// `random.choices(population, k=k)` without weights: indices `floor(random() * n)`.
    public mutating func choices(populationCount n: Int, k: Int) -> [Int] {
        let size = Double(n)
        return (0..<k).map { _ in Int((mt.random() * size).rounded(.down)) }
    }
}
