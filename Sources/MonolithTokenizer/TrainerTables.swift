/// A map from a token pair (packed as `left << 32 | right`) to a dense index 0, 1, 2, …; the
/// trainer keeps each pair's count and bookkeeping in arrays under that index.
final class PairIndexTable {
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<Int32>
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int) {
        var bits = 10
        while (1 << bits) < capacity * 2 { bits += 1 }
        keys = .allocate(capacity: 1 << bits)
        keys.initialize(repeating: .max, count: 1 << bits)
        values = .allocate(capacity: 1 << bits)
        mask = (1 << bits) - 1
        shift = UInt64(64 - bits)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// The index of `key`, and whether it was just added (numbered `count - 1`).
    @inline(__always)
    func index(_ key: UInt64) -> (Int32, inserted: Bool) {
        var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let k = keys[i]
            if k == key { return (values[i], false) }
            if k == .max { break }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = Int32(count)
        count += 1
        if count * 2 > mask + 1 { grow() }
        return (Int32(count - 1), true)
    }

    private func grow() {
        let oldKeys = keys, oldValues = values, oldCount = mask + 1
        mask = oldCount * 2 - 1
        shift -= 1
        keys = .allocate(capacity: mask + 1)
        keys.initialize(repeating: .max, count: mask + 1)
        values = .allocate(capacity: mask + 1)
        for j in 0..<oldCount where oldKeys[j] != .max {
            var i = Int(truncatingIfNeeded: (oldKeys[j] &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[i] != .max { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            values[i] = oldValues[j]
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}

/// The trainer's priority queue of candidate merges, as Hugging Face's `BinaryHeap<Merge>`:
/// the highest count first; among equal counts the smallest pair of ids `(left, right)`.
/// Entries created earlier win the remaining ties (two entries for one pair), which makes the
/// order total and the run deterministic.
struct MergeQueue {
    struct Entry {
        var count: Int64
        var pair: UInt64
        /// Which word list (in the trainer's arena) this entry will merge.
        var list: Int32
        var sequence: Int32
    }

    private(set) var entries: [Entry] = []
    private var nextSequence: Int32 = 0

    var isEmpty: Bool { entries.isEmpty }

    @inline(__always)
    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        if a.count != b.count { return a.count > b.count }
        if a.pair != b.pair { return a.pair < b.pair }
        return a.sequence < b.sequence
    }

    mutating func push(count: Int64, pair: UInt64, list: Int32) {
        push(Entry(count: count, pair: pair, list: list, sequence: nextSequence))
        nextSequence &+= 1
    }

    mutating func push(_ e: Entry) {
        entries.append(e)
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if !MergeQueue.before(e, entries[parent]) { break }
            entries[i] = entries[parent]
            i = parent
        }
        entries[i] = e
    }

    mutating func pop() -> Entry {
        let top = entries[0]
        let last = entries.removeLast()
        let n = entries.count
        if n > 0 {
            var i = 0
            while true {
                var c = 2 * i + 1
                if c >= n { break }
                if c + 1 < n && MergeQueue.before(entries[c + 1], entries[c]) { c += 1 }
                if !MergeQueue.before(entries[c], last) { break }
                entries[i] = entries[c]
                i = c
            }
            entries[i] = last
        }
        return top
    }
}
