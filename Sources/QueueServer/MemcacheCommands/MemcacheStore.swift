import MemcacheText
import NIOCore
import QueueCore

/// What keys mean to a memcached-protocol server: queues (`set` pushes, `get` pops) or a cache.
/// ``MemcacheSession`` handles what every memcached server shares and hands the rest to its store.
protocol MemcacheStore: SendableMetatype {
    /// What a reply the queue processor still owes needs in order to be rendered.
    associatedtype PendingReply

    init(server: ServerContext)

    /// `get`, `gets`, `gat`, `gats`: one `VALUE` block per hit, then `END`.
    mutating func retrieve(_ request: MemcacheRetrievalRequest, on connection: Connection<MemcacheSession<Self>>)
    /// `set`, `add`, `replace`, `append`, `prepend`, `cas`.
    mutating func store(_ request: MemcacheStorageRequest, on connection: Connection<MemcacheSession<Self>>)
    mutating func delete(_ key: ByteBuffer, noreply: Bool, on connection: Connection<MemcacheSession<Self>>)
    /// `incr` (`increment` true) and `decr`.
    mutating func adjust(
        _ key: ByteBuffer, by delta: UInt64, increment: Bool, noreply: Bool, on connection: Connection<MemcacheSession<Self>>
    )
    mutating func touch(_ key: ByteBuffer, exptime: Int64, noreply: Bool, on connection: Connection<MemcacheSession<Self>>)
    mutating func flushAll(delay: Int64?, noreply: Bool, on connection: Connection<MemcacheSession<Self>>)
    /// `stats <arguments>`; false when this store keeps no such statistics (the reply is `ERROR`).
    mutating func stats(_ arguments: MemcacheTokens, on connection: Connection<MemcacheSession<Self>>) -> Bool
    /// What this store reports in plain `stats`, read once per `stats`.
    associatedtype StatisticsSnapshot
    func statisticsSnapshot() -> StatisticsSnapshot
    /// The lines of `snapshot` that go in `part` of memcached's order.
    static func writeStatistics(_ part: MemcacheStatisticsPart, of snapshot: StatisticsSnapshot, into output: inout ByteBuffer)
    /// `stats reset`: the store's counters start again from 0.
    func resetStatistics()
    /// The decoder refused a request (a storage command too large, its block skipped; a bad data
    /// chunk; a bad line): what the store counts or drops for it, as memcached does.
    mutating func decoderRefused(_ error: MemcacheRequestError)

    static func render(_ reply: QueueReply, for pending: PendingReply, into output: inout ByteBuffer)
}

/// Where a store's lines go among the server's in plain `stats`, which follows memcached's order.
enum MemcacheStatisticsPart {
    /// Command counters, after the connection counts (`cmd_get` … `store_no_memory`).
    case commands
    /// The memory limit, after the bytes read and written (`limit_maxbytes`).
    case limits
    /// What is held, after `threads` (`bytes`, `curr_items`, … `reclaimed`).
    case contents
}

extension ByteBuffer {
    /// A queue processor's refusal as a memcached server error.
    mutating func writeMemcacheError(_ error: QueueError) {
        switch error {
        case .outOfMemory:
            self.writeMemcacheReply(.outOfMemoryStoringObject)
        case .tooManyQueues:
            self.writeMemcacheServerError("too many queues")
        case .storageFailure(let reason):
            self.writeMemcacheServerError("disk store failure: \(reason)")
        case .shuttingDown:
            self.writeMemcacheServerError("server is shutting down")
        case .reservationAlreadyOpen:
            self.writeMemcacheClientError("a reservation is already open on this queue")
        }
    }
}
