import NIOCore

/// A processor's answer to one ``QueueCommand``; each protocol renders it in its own words.
public enum QueueReply: Sendable {
    case integer(Int)
    /// How many messages a push enqueued, and the queue's length afterwards.
    case pushed(added: Int, length: Int)
    case message(Message?)
    /// A blocking pop's message and the queue it came from.
    case popped(queue: ByteBuffer, message: Message)
    case messages([Message])
    case memberships([Bool])
    case names([ByteBuffer])
    case scanPage(cursor: UInt64, names: [ByteBuffer])
    /// One entry per queue, in no particular order (each protocol orders them as it shows them).
    case statistics([QueueStatistics])
    case done
    case failure(QueueError)
}

/// The counters of one queue, for memcached's `stats queue` (MemcacheQ's format) and INFO.
public struct QueueStatistics: Sendable, Hashable {
    public var name: ByteBuffer
    /// Messages enqueued since the queue was created.
    public var added: Int
    /// Messages taken out since the queue was created, so `length == added - removed`.
    public var removed: Int

    public init(name: ByteBuffer, added: Int, removed: Int) {
        self.name = name
        self.added = added
        self.removed = removed
    }
}
