import DequeModule
import NIOCore

/// One RAM queue: its messages, counters and waiting clients behind its own lock, so two queues
/// never contend.
final class RAMQueue: @unchecked Sendable {
    /// The state the lock guards.
    struct State: ~Copyable {
        var messages = MessageStore()
        /// Messages enqueued since the queue was created.
        var added = 0
        /// Messages taken out since the queue was created.
        var removed = 0
        /// Bytes charged to the memory limit for this queue's messages.
        var chargedBytes = 0
        /// Clients waiting for a message, in the order they started waiting.
        var waiters = Deque<Waiter>()
        /// Set once the queue has left the registry; a client that still holds it looks again.
        var isRetired = false

        /// A queue with no message and nobody waiting need not exist.
        var isIdle: Bool { self.messages.count == 0 && self.waiters.isEmpty }
    }

    /// The name, in a buffer of its own (never a slice pinning a client's receive buffer).
    let name: ByteBuffer
    private let lock = AdaptiveLock()
    private var state = State()

    init(name: ByteBuffer) {
        self.name = name.ownCopy()
    }

    @inline(__always)
    func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        try self.lock.withLock { try body(&self.state) }
    }

    /// What ``takeMessages()`` took out of a queue.
    struct Emptied: ~Copyable {
        var messages: MessageStore
        var chargedBytes: Int
    }

    /// Empties the queue, as if it had just been created (DEL): its messages are handed over so
    /// the caller frees them outside any lock; waiting clients keep waiting.
    func takeMessages() -> Emptied {
        self.lock.lock()
        defer { self.lock.unlock() }
        var emptied = Emptied(messages: MessageStore(), chargedBytes: self.state.chargedBytes)
        swap(&emptied.messages, &self.state.messages)
        self.state.chargedBytes = 0
        self.state.added = 0
        self.state.removed = 0
        return emptied
    }
}
