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

    // MARK: Lists (LRANGE, LINDEX, LREM, LMOVE)

    /// Messages from position `start` to `stop`, both included; negative positions count from
    /// the tail (-1 is the last), as Redis's LRANGE (``QueueReply/messages(_:)``).
    case range(queue: ByteBuffer, start: Int, stop: Int)
    /// The message at `index`, negative from the tail (``QueueReply/message(_:)``).
    case element(queue: ByteBuffer, index: Int)
    /// Removes up to `count` copies of `member`, from the head when positive, from the tail when
    /// negative, all when 0 (LREM); replies how many went.
    case removeOccurrences(queue: ByteBuffer, member: ByteBuffer, count: Int)
    /// Takes a message from one end of `source` and pushes it at one end of `destination`, as one
    /// step (LMOVE); replies the message moved (``QueueReply/message(_:)``).
    case move(source: ByteBuffer, destination: ByteBuffer, from: QueueEnd, to: QueueEnd)

    // MARK: Blocking

    /// Pops from the first non-empty queue, waiting up to `timeout` (nil: forever) for a push.
    /// Replies ``QueueReply/popped(queue:message:)``, or ``QueueReply/message(_:)`` with nil when
    /// the time is up. Waiting clients are served in the order they started waiting.
    case blockingPop(queues: [ByteBuffer], end: QueueEnd, timeout: TimeAmount?)
    /// ``move(source:destination:from:to:)``, waiting up to `timeout` for `source` to have a message.
    case blockingMove(source: ByteBuffer, destination: ByteBuffer, from: QueueEnd, to: QueueEnd, timeout: TimeAmount?)

    // MARK: Reservations (reliable consumption)

    /// Takes the head message aside for this client until it acknowledges or aborts it, waiting up
    /// to `waitingAtMost` (nil: not at all) for one. One reservation per queue per client; a client
    /// that disconnects aborts its reservations.
    case reserve(queue: ByteBuffer, waitingAtMost: TimeAmount?)
    /// Removes the client's reservation on `queue` for good; replies 1, or 0 when none was open.
    case acknowledge(queue: ByteBuffer)
    /// Puts the client's reservation back at the head of `queue`; replies 1, or 0 when none was open.
    case abort(queue: ByteBuffer)
    /// The head message, left in place, waiting up to `waitingAtMost` (nil: not at all) for one.
    case peek(queue: ByteBuffer, waitingAtMost: TimeAmount?)
}

extension QueueCommand {
    /// About how many messages the command touches, at least one: the weight of its work. A
    /// connection bounds the work it has waiting for a processor by it, and the disk queue sizes
    /// its transactions and rounds by it.
    ///
    /// A pop's count may be anything up to `Int.max` (`SPOP q 9223372036854775807`), though it
    /// takes no more than its queue holds; the weight stops at 2^32, so that sums of weights
    /// never overflow.
    public var messageCount: Int {
        let count: Int
        switch self {
        case .push(_, let messages, _, _): count = messages.count
        case .pop(_, _, let wanted): count = wanted ?? 1
        case .remove(_, let members), .contains(_, let members): count = members.count
        default: count = 1
        }
        return min(max(1, count), 1 << 32)
    }

    /// The most messages the reply may carry: a connection bounds the reply data its waiting
    /// commands may bring by it. Unknown (a range counted from both ends) is as many as can be.
    public var repliedMessagesAtMost: Int {
        let count: Int
        switch self {
        case .pop(_, _, let wanted): count = wanted ?? 1
        case .range(_, let start, let stop):
            // Positions of one sign give the span (computed unsigned: -2^63 is a position too);
            // mixed signs depend on the queue's length.
            if (start >= 0) != (stop >= 0) {
                count = .max
            } else {
                count = stop >= start ? Int(clamping: UInt(bitPattern: stop &- start) + 1) : 0
            }
        case .element, .move, .blockingPop, .blockingMove, .reserve, .peek: count = 1
        default: count = 0
        }
        return min(count, 1 << 32)
    }
}
