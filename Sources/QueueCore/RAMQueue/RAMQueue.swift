import NIOConcurrencyHelpers
import NIOCore

/// One RAM queue: its messages and counters behind its own lock, so two queues never contend.
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
        /// Set once the queue has left the registry; a client that still holds it looks again.
        var isRetired = false
    }

    /// The name, in a buffer of its own (never a slice pinning a client's receive buffer).
    let name: ByteBuffer
    private let lock = NIOLock()
    private var state = State()

    init(name: ByteBuffer) {
        var copy = ByteBufferAllocator().buffer(capacity: name.readableBytes)
        copy.writeImmutableBuffer(name)
        self.name = copy
    }

    @inline(__always)
    func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        try self.lock.withLock { try body(&self.state) }
    }

    /// Retires the queue and hands its messages over, so the caller frees them outside any lock.
    func retire() -> State {
        self.lock.lock()
        defer { self.lock.unlock() }
        var retired = State()
        swap(&retired, &self.state)
        self.state.isRetired = true
        return retired
    }
}
