/// What each cache slot still holds after its sequence ended, so that a new prompt starting
/// the same way (a shared system prompt, a chat's earlier turns, a repeated benchmark prompt)
/// reuses those keys and values instead of recomputing them: llama-server's `cache_prompt`
/// and, per slot, vLLM's automatic prefix caching.
///
/// A free slot's positions stay valid until a new sequence writes over them, so keeping them
/// costs no memory; the engine still counts the slot as free. Only the engine thread uses this.
struct PrefixCache {
    /// The tokens whose keys and values each free slot still holds (empty for a slot in use).
    private(set) var retained: [[Int32]]

    init(slots: Int) { retained = Array(repeating: [], count: slots) }

    /// Records that `slot` was freed holding the keys and values of `tokens`.
    mutating func release(slot: Int, holding tokens: [Int32]) { retained[slot] = tokens }

    /// Takes `slot` for a new sequence.
    mutating func take(slot: Int) { retained[slot] = [] }

    /// The free slot to give `prompt`: the one whose retained tokens share the longest prefix
    /// with it, else the one holding least (so the others stay useful for later prompts).
    func choose(among free: [Int], for prompt: [Int32]) -> Int {
        precondition(!free.isEmpty, "PrefixCache: no free slot to choose")
        var best = free[free.count - 1], bestShared = -1, bestHeld = Int.max
        for slot in free.reversed() {
            let shared = Self.sharedPrefix(retained[slot], prompt), held = retained[slot].count
            if shared > bestShared || (shared == bestShared && held < bestHeld) {
                best = slot; bestShared = shared; bestHeld = held
            }
        }
        return best
    }

    /// How many leading tokens `a` and `b` have in common.
    static func sharedPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n && a[i] == b[i] { i += 1 }
        return i
    }
}
