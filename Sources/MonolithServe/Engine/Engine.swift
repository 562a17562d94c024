import Foundation
import MonolithInference
import MonolithModel
import MonolithTokenizer

/// Continuous batching over one ``DecodeSession``: sequences are admitted into free cache slots
/// between steps, each step runs one prompt chunk (of the oldest sequence still reading its
/// prompt) and then one decode step for every sequence that has a token to feed, and a
/// finished or cancelled sequence frees its slot at once for the next in the queue.
///
/// The model runs on the engine's own thread; callers only queue sequences
/// (``submit(prompt:options:)``) and read their events from the returned stream. Dropping the
/// stream (a client that disconnects) cancels the sequence.
public final class Engine: @unchecked Sendable {
    /// The model, its tokenizer and the session the sequences share.
    public let model: GPT
    public let tokenizer: any TextTokenizer
    let session: DecodeSession
    /// Positions one sequence may hold: its prompt plus `max_tokens` must fit.
    public let contextPerSequence: Int
    public let options: EngineOptions
    let metrics: ServeMetrics?

    private let lock = NSCondition()
    private var queue: [Job] = [], active: [Job] = [], freeSlots: [Int]
    /// What free slots still hold, for prompts that start the same way (engine thread only).
    private var prefixCache: PrefixCache
    private var running = true, stopped = false
    private var submitted: UInt64 = 0
    private var thread: Thread?

    /// An engine over `model` reading `weights`, started at once.
    public init(model: GPT, weights: DecodeSession.Weights = .fp32, tokenizer: any TextTokenizer, options: EngineOptions = .init(),
                metrics: ServeMetrics? = nil) throws {
        try options.validate()
        self.model = model; self.tokenizer = tokenizer; self.options = options; self.metrics = metrics
        contextPerSequence = min(model.config.contextLength, options.kvCacheTokens / options.maxBatch)
        session = try DecodeSession(model: model, slots: options.maxBatch, capacity: contextPerSequence, weights: weights,
                                    promptChunk: options.promptChunk)
        session.batchInvariant = options.deterministic
        // Prompt rows share steps with other sequences' rows; their attention must not depend on that.
        session.rowwiseAttention = true
        freeSlots = Array((0..<options.maxBatch).reversed())
        prefixCache = PrefixCache(slots: options.maxBatch)
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "monolith-engine"
        self.thread = thread
        thread.start()
    }

    /// Queues one sequence and returns its events. Throws a 400 naming `prompt` or `max_tokens`
    /// when it cannot fit a slot, and a 429 when the queue is full.
    public func submit(prompt: [Int32], options o: SamplingOptions) throws -> AsyncStream<SequenceEvent> {
        let v = model.config.vocabSize
        guard !prompt.isEmpty else { throw APIError.invalid("prompt", "the prompt is empty") }
        if let bad = prompt.first(where: { $0 < 0 || Int($0) >= v }) {
            throw APIError.invalid("prompt", "token id \(bad) is outside the vocabulary 0..<\(v)")
        }
        guard prompt.count + o.maxTokens <= contextPerSequence else {
            throw APIError.invalid("max_tokens", "the prompt (\(prompt.count) tokens) plus max_tokens (\(o.maxTokens)) exceeds the \(contextPerSequence) positions a sequence may hold (the context, or --kv-cache-tokens / --max-batch)")
        }
        var continuation: AsyncStream<SequenceEvent>.Continuation!
        let stream = AsyncStream<SequenceEvent>(bufferingPolicy: .unbounded) { continuation = $0 }
        lock.lock(); defer { lock.unlock() }
        guard running else { throw APIError(.serviceUnavailable, "the server is shutting down", type: "server_error") }
        // Up to --max-queue sequences wait beyond those about to take the free slots.
        guard queue.count < options.maxQueue + freeSlots.count else {
            throw APIError(.tooManyRequests, "the queue is full (\(options.maxQueue) waiting); retry later", type: "rate_limit_error")
        }
        submitted += 1
        let job = Job(prompt: prompt, options: o, sampler: o.sampler(fallbackSeed: submitted &* 0x9E37_79B9_7F4A_7C15),
                      continuation: continuation)
        continuation.onTermination = { [weak self, weak job] _ in
            guard let self, let job else { return }
            self.lock.lock(); job.cancelled = true; self.lock.signal(); self.lock.unlock()
        }
        queue.append(job)
        metrics?.queueDepth.set(Double(queue.count))
        lock.signal()
        return stream
    }

    /// Stops taking sequences, ends every queued and running one with ``FinishReason/abort``,
    /// and waits for the engine thread to exit.
    public func shutdown() {
        lock.lock()
        running = false
        lock.signal()
        while !stopped { lock.wait() }
        lock.unlock()
    }

    /// Sequences queued and running (for `/metrics` and tests).
    public var load: (queued: Int, running: Int) {
        lock.lock(); defer { lock.unlock() }
        return (queue.count, active.count)
    }

    // MARK: - The engine thread

    private func loop() {
        while true {
            lock.lock()
            while running && queue.isEmpty && active.isEmpty { lock.wait() }
            if !running {
                let all = active + queue
                queue = []; active = []
                lock.unlock()
                for job in all { finish(job, .abort, release: false) }
                lock.lock(); stopped = true; lock.broadcast(); lock.unlock()
                return
            }
            let cancelled = active.filter(\.cancelled)
            lock.unlock()
            for job in cancelled { finish(job, .abort) }
            lock.lock()
            let running = active
            var admitted: [Job] = []
            while !freeSlots.isEmpty, !queue.isEmpty {
                let job = queue.removeFirst()
                if job.cancelled { continue }
                let slot = options.prefixCache ? prefixCache.choose(among: freeSlots, for: job.prompt) : freeSlots[freeSlots.count - 1]
                freeSlots.removeAll { $0 == slot }
                job.slot = slot
                active.append(job); admitted.append(job)
            }
            let work = active
            metrics?.queueDepth.set(Double(queue.count))
            metrics?.runningBatch.set(Double(work.count))
            lock.unlock()
            for job in admitted { startCache(job, running: running) }
            do { try step(work) } catch {
                let failure = APIError(.internalServerError, "decoding failed: \(error)", type: "server_error")
                for job in work where !job.done { job.continuation.yield(.failed(failure)); finish(job, .abort, keepCache: false) }
            }
            metrics?.kvTokensInUse.set(Double(work.filter { !$0.done }.reduce(0) { $0 + session.cache.lengths[$1.slot] }))
        }
    }

    /// Sets up a newly admitted sequence's slot: the longest prefix of its prompt that its own
    /// slot still holds or a running sequence has computed is kept (copied), and the prompt is
    /// fed from there; otherwise the slot starts empty. At least the prompt's last token is
    /// always fed, for its logits, and a prompt to be scored (`echo` with `logprobs`) is fed whole.
    private func startCache(_ job: Job, running: [Job]) {
        defer { prefixCache.take(slot: job.slot) }
        let cache = session.cache
        var source = job.slot, shared = 0
        if options.prefixCache && !job.options.scoresPrompt {
            shared = PrefixCache.sharedPrefix(prefixCache.retained[job.slot], job.prompt)
            for other in running where !other.done {
                let n = PrefixCache.sharedPrefix(other.tokens(inCache: cache), job.prompt)
                if n > shared { shared = n; source = other.slot }
            }
        }
        let count = min(shared, job.prompt.count - 1)
        guard count > 0, (try? cache.copyPrefix(from: source, to: job.slot, count: count)) != nil else {
            cache.reset(slot: job.slot)
            return
        }
        job.fed = count
        metrics?.cachedPromptTokens.increment(by: Int64(count))
    }

    /// One step over a mixed batch, as vLLM's chunked prefill runs it: a row for every sequence
    /// with a token to feed, then prompt rows of the sequences still reading their prompts,
    /// oldest first, up to `--prompt-chunk` of them in all. Rows whose logits are needed (the
    /// next token, or an echoed prompt's scores) are projected; the rest only fill the cache.
    private func step(_ work: [Job]) throws {
        var slots: [Int] = [], tokens: [Int32] = [], projected: [Int] = []
        // What each projected row is for: sampling the job's next token, or scoring its prompt at a position.
        var uses: [(job: Job, promptPosition: Int?)] = []
        for job in work where !job.done {
            guard let token = job.pending else { continue }
            job.pending = nil
            slots.append(job.slot); tokens.append(token)
            projected.append(slots.count - 1); uses.append((job, nil))
        }
        var budget = session.promptChunk
        for job in work where !job.done && job.fed < job.prompt.count && budget > 0 {
            let end = min(job.fed + budget, job.prompt.count)
            let scoring = job.options.scoresPrompt
            for position in job.fed..<end {
                slots.append(job.slot); tokens.append(job.prompt[position])
                if scoring && position + 1 < job.prompt.count {
                    projected.append(slots.count - 1); uses.append((job, position))
                } else if position + 1 == job.prompt.count {
                    projected.append(slots.count - 1); uses.append((job, nil))
                }
            }
            budget -= end - job.fed
            job.fed = end
        }
        guard !slots.isEmpty else { return }
        let logits = try session.step(slots: slots, tokens: tokens, projecting: projected)
        let v = model.config.vocabSize
        var scores: [ObjectIdentifier: (Job, [TokenLogprob])] = [:]
        func flushScores(_ job: Job) {
            if let (_, s) = scores.removeValue(forKey: ObjectIdentifier(job)) { job.continuation.yield(.prompt(s)) }
        }
        for (k, use) in uses.enumerated() {
            let row = UnsafeBufferPointer(start: logits.baseAddress! + k * v, count: v), job = use.job
            if let position = use.promptPosition {
                let lp = tokenLogprob(job.prompt[position + 1], row, top: job.options.logprobs ?? 0)
                scores[ObjectIdentifier(job), default: (job, [])].1.append(lp)
                continue
            }
            flushScores(job)
            if job.generated.isEmpty && job.lastToken == nil {
                metrics?.promptTokens.increment(by: Int64(job.prompt.count))
                if job.options.maxTokens == 0 { finish(job, .length); continue }
            }
            accept(job, row)
        }
        for (job, _) in scores.values { flushScores(job) }
    }

    /// Samples the next token of `job` from `logits`, reports it, and ends the sequence at the
    /// end-of-text token, a stop string, `max_tokens` or a full slot.
    private func accept(_ job: Job, _ logits: UnsafeBufferPointer<Float>) {
        let id = job.sampler.next(logits)
        let now = DispatchTime.now().uptimeNanoseconds
        if let last = job.lastToken { metrics?.interTokenLatency.recordNanoseconds(Int64(now - last)) } else {
            metrics?.timeToFirstToken.recordNanoseconds(Int64(now - job.submittedAt))
        }
        job.lastToken = now
        let logprob = job.options.logprobs.map { tokenLogprob(id, logits, top: $0) }
        metrics?.generatedTokens.increment()
        if !job.options.ignoreEOS, id == tokenizer.endOfText {
            // Reported and counted like any token (vLLM does the same) but adding no text: lm-eval's
            // echo scoring takes the last logprob entry for the generated token, whatever it is.
            job.continuation.yield(.token(id: id, text: "", logprob: logprob))
            job.endOfText = true
            finish(job, .stop)
            return
        }
        job.generated.append(id)
        let (delta, stopped) = job.text.advance(to: tokenizer.decode(job.generated))
        job.continuation.yield(.token(id: id, text: delta, logprob: logprob))
        if stopped { finish(job, .stop, flush: false); return }
        if job.generated.count >= job.options.maxTokens || session.cache.lengths[job.slot] >= contextPerSequence {
            finish(job, .length)
        } else {
            job.pending = id
        }
    }

    /// Ends `job`: sends the text still held back (unless a stop string ended it) and the end
    /// event, and frees its slot, whose keys and values stay for a later prompt that starts the
    /// same way unless `keepCache` is false (after a failed step they may be incomplete).
    private func finish(_ job: Job, _ reason: FinishReason, flush: Bool = true, release: Bool = true, keepCache: Bool = true) {
        guard !job.done else { return }
        job.done = true
        let trailing = flush && reason != .abort ? job.text.advance(to: tokenizer.decode(job.generated), final: true).delta : ""
        // The slot is free before the client hears the end, so what it sees next (a new request,
        // /metrics) finds it free.
        if release, job.slot >= 0 {
            if options.prefixCache && keepCache {
                prefixCache.release(slot: job.slot, holding: job.tokens(inCache: session.cache))
            } else {
                session.cache.reset(slot: job.slot)
            }
            lock.lock()
            active.removeAll { $0 === job }
            freeSlots.append(job.slot)
            metrics?.runningBatch.set(Double(active.count))
            lock.unlock()
        }
        if !trailing.isEmpty { job.continuation.yield(.token(id: -1, text: trailing, logprob: nil)) }
        job.continuation.yield(.finished(reason, promptTokens: job.prompt.count, completionTokens: job.generated.count + (job.endOfText ? 1 : 0)))
        job.continuation.finish()
    }
}

/// One sequence's state, touched by the engine thread only (but `cancelled`, under the lock).
final class Job: @unchecked Sendable {
    let prompt: [Int32]
    let options: SamplingOptions
    var sampler: Sampler
    let continuation: AsyncStream<SequenceEvent>.Continuation
    var text: TextStream
    var slot = -1
    /// Prompt positions in the cache, the token to feed next, and what was generated.
    var fed = 0, pending: Int32? = nil, generated: [Int32] = []
    var cancelled = false, done = false
    /// The sequence ended by sampling the end-of-text token (reported, but not in `generated`).
    var endOfText = false
    let submittedAt = DispatchTime.now().uptimeNanoseconds
    var lastToken: UInt64? = nil

    /// The tokens whose keys and values its slot of `cache` holds: the prompt, then every
    /// generated token but the one still to be fed.
    func tokens(inCache cache: KVCache) -> [Int32] { Array((prompt + generated).prefix(cache.lengths[slot])) }

    init(prompt: [Int32], options: SamplingOptions, sampler: Sampler, continuation: AsyncStream<SequenceEvent>.Continuation) {
        self.prompt = prompt; self.options = options; self.sampler = sampler; self.continuation = continuation
        text = TextStream(stops: options.stop)
    }
}
