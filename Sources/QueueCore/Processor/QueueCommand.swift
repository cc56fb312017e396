import NIOCore

/// What a client asks of a store of queues, whichever protocol it speaks.
///
/// Queue names and messages are `ByteBuffer` slices of the client's receive buffer; a processor
/// copies what it keeps.
public enum QueueCommand: Sendable {
    /// Appends `messages` at `end`. Unique queues skip a message already queued; with
    /// `onlyIfAbsent` a queue that allows duplicates skips it too (memcached `add`).
    /// Replies ``QueueReply/pushed(added:length:)``.
    case push(queue: ByteBuffer, messages: [Message], end: QueueEnd, onlyIfAbsent: Bool)
    /// Takes one message from `end` (``QueueReply/message(_:)``), or up to `count` of them
    /// (``QueueReply/messages(_:)``).
    case pop(queue: ByteBuffer, end: QueueEnd, count: Int?)
    /// The number of queued messages (``QueueReply/integer(_:)``).
    case length(queue: ByteBuffer)
    /// Whether each member is queued (``QueueReply/memberships(_:)``).
    case contains(queue: ByteBuffer, members: [ByteBuffer])
    /// Removes every copy of each member wherever it stands; replies how many messages went.
    case remove(queue: ByteBuffer, members: [ByteBuffer])
    /// Drops whole queues; replies how many existed.
    case delete(queues: [ByteBuffer])
    /// Replies how many of the named queues exist (a name counts as often as it is given).
    case exists(queues: [ByteBuffer])
    /// The number of queues.
    case queueCount
    /// Drops every queue (``QueueReply/done``).
    case deleteAll
    /// Every queue name matching a Redis glob pattern (``QueueReply/names(_:)``).
    case names(matching: ByteBuffer?)
    /// One page of queue names (``QueueReply/scanPage(cursor:names:)``); cursor 0 starts and ends a scan.
    case scan(cursor: UInt64, matching: ByteBuffer?, count: Int)
    /// Per-queue counters (``QueueReply/statistics(_:)``).
    case statistics
}
