/// An open-addressing hash map from a `UInt64` key to a small value: multiply-shift (Fibonacci)
/// hashing, linear probing, load factor ≤ 1/2, and `UInt64.max` reserved as the empty key.
///
/// The tokenizer's one table for fixed-width keys, in two roles:
/// - ``PairTable``: a pair of adjacent token ids → the merge they make (rank and merged id). This
///   is the hot lookup of BPE on a word the cache has not seen: one multiply-shift and, at load
///   ≤ 1/2, usually one 16-byte slot read.
/// - ``PairIndexTable``: the trainer's pair → dense index 0, 1, 2, … (insertion order); it keeps each
///   pair's count and bookkeeping in arrays under that index.
///
/// Byte-string keys live in ``ByteStringTable`` instead, which says why it is a separate type.
final class PairMap<Value>: @unchecked Sendable {
    private struct Slot {
        var key: UInt64
        var value: Value
    }

    private static var empty: UInt64 { .max }
    private var slots: UnsafeMutablePointer<Slot>
    private var shift: UInt64
    private var mask: Int
    /// What a lookup of a missing key returns.
    let absent: Value
    /// Number of keys.
    private(set) var count = 0

    /// A table for about `capacity` keys (it grows past that), answering `absent` for missing keys.
    init(capacity: Int, absent: Value) {
        var bits = 4
        while (1 << bits) < capacity * 2 { bits += 1 }
        self.absent = absent
        slots = .allocate(capacity: 1 << bits)
        slots.initialize(repeating: Slot(key: Self.empty, value: absent), count: 1 << bits)
        mask = (1 << bits) - 1
        shift = UInt64(64 - bits)
    }

    deinit { slots.deallocate() }

    /// `left` and `right` packed as one key, `left` in the high half.
    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: left)) << 32) | UInt64(UInt32(bitPattern: right))
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let k = slots[i].key
            if k == key || k == Self.empty { return i }
            i = (i + 1) & mask
        }
    }

    /// The value of `key`, or `absent`.
    @inline(__always)
    subscript(key: UInt64) -> Value {
        slots[find(key)].value  // an empty slot holds `absent`
    }

    /// The value of `key`, inserting `value` first if the key is new.
    @inline(__always)
    func insert(_ key: UInt64, _ value: Value) -> (value: Value, inserted: Bool) {
        precondition(key != Self.empty)
        let i = find(key)
        if slots[i].key == key { return (slots[i].value, false) }
        slots[i] = Slot(key: key, value: value)
        count += 1
        if count * 2 > mask + 1 { grow() }
        return (value, true)
    }

    /// Sets the value of `key`, replacing an earlier one.
    func set(_ key: UInt64, _ value: Value) {
        precondition(key != Self.empty)
        let i = find(key)
        if slots[i].key == key {
            slots[i].value = value
        } else {
            _ = insert(key, value)
        }
    }

    private func grow() {
        let old = slots, oldCount = mask + 1
        mask = oldCount * 2 - 1
        shift -= 1
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: Slot(key: Self.empty, value: absent), count: mask + 1)
        for j in 0..<oldCount where old[j].key != Self.empty {
            slots[find(old[j].key)] = old[j]
        }
        old.deinitialize(count: oldCount)
        old.deallocate()
    }
}

/// The merge a pair of adjacent tokens makes: its rank (lower merges first) and the merged id.
struct PairMerge: Equatable {
    var rank: UInt32
    var token: Int32
    /// No merge: rank `UInt32.max`.
    static let none = PairMerge(rank: .max, token: -1)
}

/// A pair of adjacent token ids → the merge they make.
typealias PairTable = PairMap<PairMerge>

extension PairMap where Value == PairMerge {
    typealias Merge = PairMerge

    /// A table for about `capacity` merges.
    convenience init(capacity: Int) { self.init(capacity: capacity, absent: .none) }

    /// The merge of `left` followed by `right`, or `.none` (rank `UInt32.max`).
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> PairMerge { self[PairMap.key(left, right)] }

    /// Sets the merge of a pair, replacing an earlier one (a later line of a merges file wins,
    /// as in Hugging Face's loader, which collects the list into a hash map).
    func set(_ left: Int32, _ right: Int32, _ merge: PairMerge) { set(PairMap.key(left, right), merge) }

    /// Keeps the lower-ranked merge when a pair is set twice (several splits of one tiktoken
    /// token all merge to it with the same rank, so either choice is the same merge).
    func setIfLower(_ left: Int32, _ right: Int32, _ merge: PairMerge) {
        if merge.rank < self.merge(left, right).rank { set(left, right, merge) }
    }
}

/// The trainer's map from a token pair (packed by ``PairMap/key(_:_:)``) to a dense index.
typealias PairIndexTable = PairMap<Int32>

extension PairMap where Value == Int32 {
    /// A table for about `capacity` pairs.
    convenience init(capacity: Int) { self.init(capacity: capacity, absent: -1) }

    /// The index of `key`, and whether it was just added (numbered `count - 1`).
    @inline(__always)
    func index(_ key: UInt64) -> (Int32, inserted: Bool) {
        let r = insert(key, Int32(count))
        return (r.value, r.inserted)
    }
}
