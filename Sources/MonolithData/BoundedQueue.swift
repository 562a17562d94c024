#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A blocking FIFO of limited capacity between two pipeline stages.
///
/// The bound keeps a fast reader from buffering a whole corpus in memory while the tokenizer
/// catches up; `close()` lets the consumer drain what is left and then see the end.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    private let capacity: Int
    private var items: [Element] = []
    private var head = 0
    private var closed = false
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_mutex_destroy(lock); pthread_cond_destroy(changed)
        lock.deallocate(); changed.deallocate()
    }

    /// Appends `item`, waiting while the queue is full. Returns `false` if the queue was closed.
    @discardableResult
    func push(_ item: Element) -> Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while items.count - head >= capacity && !closed { pthread_cond_wait(changed, lock) }
        if closed { return false }
        items.append(item)
        pthread_cond_broadcast(changed)
        return true
    }

    /// Removes the oldest item, waiting while the queue is empty; `nil` once closed and drained.
    func pop() -> Element? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while items.count == head && !closed { pthread_cond_wait(changed, lock) }
        if items.count == head { return nil }
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        pthread_cond_broadcast(changed)
        return item
    }

    /// Ends the stream: pushes fail from now on and `pop` returns `nil` once the queue is empty.
    func close() {
        pthread_mutex_lock(lock)
        closed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
    }
}

/// Runs `body` on a new thread; `join()` waits for it.
final class BackgroundThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let me = Unmanaged<BackgroundThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed with \(rc)")
    }

    func join() { pthread_join(thread, nil) }
}
