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
