/// An open-addressing map from a pair of adjacent token ids to the merge they make: its rank
/// (lower merges first) and the id of the merged token.
///
/// This is the hot lookup of BPE on a word the cache has not seen: a multiply-shift hash of one
/// 64-bit key and, at load factor ≤ 0.5, usually one 16-byte slot read.
final class PairTable: @unchecked Sendable {
    struct Merge: Equatable {
        var rank: UInt32
        var token: Int32
        static let none = Merge(rank: .max, token: -1)
    }

    private struct Slot {
        var key: UInt64
        var merge: Merge
    }

    private static let empty = UInt64.max
    private var slots: UnsafeMutablePointer<Slot>
    private var shift: UInt64
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var bits = 4
        while (1 << bits) < capacity * 2 { bits += 1 }
        slots = .allocate(capacity: 1 << bits)
        slots.initialize(repeating: Slot(key: PairTable.empty, merge: .none), count: 1 << bits)
        mask = (1 << bits) - 1
        shift = UInt64(64 - bits)
    }

    deinit { slots.deallocate() }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: left)) << 32) | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func index(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The merge of `left` followed by `right`, or `.none` (rank `UInt32.max`).
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge {
        let k = PairTable.key(left, right)
        var i = index(k)
        while true {
            let s = slots[i]
            if s.key == k { return s.merge }
            if s.key == PairTable.empty { return .none }
            i = (i + 1) & mask
        }
    }

    /// Sets the merge of a pair, replacing an earlier one (a later line of a merges file wins,
    /// as in Hugging Face's loader, which collects the list into a hash map).
    func set(_ left: Int32, _ right: Int32, _ merge: Merge) {
        let k = PairTable.key(left, right)
        var i = index(k)
        while slots[i].key != PairTable.empty && slots[i].key != k { i = (i + 1) & mask }
        if slots[i].key == PairTable.empty {
            count += 1
            if count * 2 > mask + 1 {
                grow()
                count -= 1
                set(left, right, merge)
                return
            }
        }
        slots[i] = Slot(key: k, merge: merge)
    }

    /// Keeps the lower-ranked merge when a pair is set twice (several splits of one tiktoken
    /// token all merge to it with the same rank, so either choice is the same merge).
    func setIfLower(_ left: Int32, _ right: Int32, _ merge: Merge) {
        let current = self.merge(left, right)
        if merge.rank < current.rank { set(left, right, merge) }
    }

    private func grow() {
        let old = slots, oldCount = mask + 1
        mask = oldCount * 2 - 1
        shift -= 1
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: Slot(key: PairTable.empty, merge: .none), count: mask + 1)
        for j in 0..<oldCount where old[j].key != PairTable.empty {
            var i = index(old[j].key)
            while slots[i].key != PairTable.empty { i = (i + 1) & mask }
            slots[i] = old[j]
        }
        old.deallocate()
    }

    /// Every stored pair with its merge, in no particular order.
    func forEach(_ body: (Int32, Int32, Merge) -> Void) {
        for i in 0...mask where slots[i].key != PairTable.empty {
            let k = slots[i].key
            body(Int32(bitPattern: UInt32(k >> 32)), Int32(bitPattern: UInt32(k & 0xFFFF_FFFF)), slots[i].merge)
        }
    }
}
