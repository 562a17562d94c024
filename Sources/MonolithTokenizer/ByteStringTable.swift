/// An open-addressing hash set of byte strings that numbers its keys 0, 1, 2, … in insertion
/// order; callers keep per-key values in their own arrays indexed by that number.
///
/// Used for the vocabulary (token bytes → id), the per-thread word cache of the encoder, and the
/// pre-token counts of the trainer. Keys are copied into one arena, so a lookup touches the slot
/// and the key bytes only.
///
/// Not a ``PairMap`` with a byte-string key: keys here have any length, so a slot stores the key's
/// 32-bit hash, length and arena offset (a probe compares bytes only on a hash match), the hash is
/// computed once by the caller (``ByteHash``, reused across `find` and `insert`), and the table
/// must hand back a key's bytes by number, `removeAll` while keeping its memory (the word cache),
/// and grow at load 3/4 rather than 1/2 (the vocabulary and counts are large). Probing is the same
/// linear scheme.
final class ByteStringTable: @unchecked Sendable {
    private struct Slot {
        var hash: UInt32
        var length: UInt32
        var offset: Int32
        var entry: Int32   // -1: empty
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var mask: Int
    private(set) var arena: UnsafeMutablePointer<UInt8>
    private var arenaCapacity: Int
    private(set) var arenaCount = 0
    private var offsets: [Int32] = []
    private var lengths: [Int32] = []
    /// Number of keys.
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        slots = .allocate(capacity: c)
        mask = c - 1
        arenaCapacity = max(64, capacity * 8)
        arena = .allocate(capacity: arenaCapacity)
        clearSlots()
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
    }

    private func clearSlots() {
        UnsafeMutableRawPointer(slots).initializeMemory(as: UInt8.self, repeating: 0xFF, count: (mask + 1) * 16)
    }

    /// Forgets every key but keeps the memory.
    func removeAll() {
        clearSlots()
        arenaCount = 0
        count = 0
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
    }

    /// The number of `p[0..<n]`, or -1.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int, hash: UInt64) -> Int32 {
        let h32 = UInt32(truncatingIfNeeded: hash)
        var i = Int(h32) & mask
        while true {
            let s = slots[i]
            if s.entry < 0 { return -1 }
            if s.hash == h32 && Int(s.length) == n && ByteHash.equal(arena + Int(s.offset), p, n) {
                return s.entry
            }
            i = (i + 1) & mask
        }
    }

    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        find(p, n, hash: ByteHash.hash(p, n))
    }

    func find(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { find($0.baseAddress ?? UnsafePointer(arena), $0.count) }
    }

    /// The number of `p[0..<n]`, inserting it if new.
    @inline(__always)
    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash: UInt64) -> (entry: Int32, inserted: Bool) {
        let h32 = UInt32(truncatingIfNeeded: hash)
        var i = Int(h32) & mask
        while true {
            let s = slots[i]
            if s.entry < 0 { break }
            if s.hash == h32 && Int(s.length) == n && ByteHash.equal(arena + Int(s.offset), p, n) {
                return (s.entry, false)
            }
            i = (i + 1) & mask
        }
        if arenaCount + n > arenaCapacity { growArena(arenaCount + n) }
        (arena + arenaCount).update(from: p, count: n)
        let entry = Int32(count)
        slots[i] = Slot(hash: h32, length: UInt32(n), offset: Int32(arenaCount), entry: entry)
        offsets.append(Int32(arenaCount))
        lengths.append(Int32(n))
        arenaCount += n
        count += 1
        if count * 4 > (mask + 1) * 3 { growSlots() }
        return (entry, true)
    }

    func insert(_ p: UnsafePointer<UInt8>, _ n: Int) -> (entry: Int32, inserted: Bool) {
        insert(p, n, hash: ByteHash.hash(p, n))
    }

    func insert(_ bytes: [UInt8]) -> (entry: Int32, inserted: Bool) {
        bytes.withUnsafeBufferPointer { b in
            insert(b.baseAddress ?? UnsafePointer(arena), b.count)
        }
    }

    /// The bytes of key `entry` (valid until the next insertion).
    @inline(__always)
    func key(_ entry: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + Int(offsets[entry]), count: Int(lengths[entry]))
    }

    /// Bytes held by the key arena.
    var keyBytes: Int { arenaCount }

    private func growArena(_ needed: Int) {
        var c = arenaCapacity * 2
        while c < needed { c *= 2 }
        precondition(c <= Int(Int32.max), "ByteStringTable: key arena beyond 2 GiB")
        let a = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        a.update(from: arena, count: arenaCount)
        arena.deallocate()
        arena = a
        arenaCapacity = c
    }

    private func growSlots() {
        let old = slots, oldCount = mask + 1
        mask = oldCount * 2 - 1
        slots = .allocate(capacity: mask + 1)
        clearSlots()
        for j in 0..<oldCount where old[j].entry >= 0 {
            var i = Int(old[j].hash) & mask
            while slots[i].entry >= 0 { i = (i + 1) & mask }
            slots[i] = old[j]
        }
        old.deallocate()
    }
}
