import MemcacheText
import NIOCore
import QueueCore

/// Keys are queues (SPEC §4, MemcacheQ's dialect): `set` pushes, `add` pushes unless an equal
/// message is queued, `get` pops one message from each named queue, `delete` drops a queue,
/// `stats queue` prints `STAT <queue> <added>/<removed>`. Keys of `get` take Kestrel's options
/// (see ``KestrelKey``) for reliable and blocking reads. Client flags travel with each message;
/// exptime is accepted and ignored, since a queued message waits until it is taken. Commands that
/// only make sense for a cache (`replace`, `append`, `prepend`, `cas`, `incr`, `decr`, `touch`,
/// `gat`, `gats`) answer `ERROR`, as memcached answers a command it does not know.
struct MemcacheQueueStore: MemcacheStore {
    enum PendingReply {
        /// A popped message as a `VALUE` block (nothing for an empty queue); `gets` adds a CAS of 0.
        case value(key: ByteBuffer, withCAS: Bool)
        case stored(noreply: Bool)
        case added(noreply: Bool)
        case deleted(noreply: Bool)
        case flushed(noreply: Bool)
        case queueStatistics
        /// Acknowledging or aborting a reservation answers nothing of its own.
        case nothing
    }

    private let server: ServerContext

    init(server: ServerContext) {
        self.server = server
    }

    func retrieve(_ request: MemcacheRetrievalRequest, on connection: Connection<MemcacheSession<Self>>) {
        guard !request.command.touches else {
            return connection.reply { $0.writeMemcacheReply(.error) }
        }
        for key in request.keys {
            guard let kestrel = KestrelKey(key) else {
                connection.reply { $0.writeMemcacheClientError("bad queue option in \(String(buffer: key))") }
                continue
            }
            let queue = kestrel.queue
            let value = PendingReply.value(key: key, withCAS: request.command.returnsCAS)
            if kestrel.aborts {
                connection.execute(.abort(queue: queue), replyingWith: .nothing)
            }
            if kestrel.closes {
                connection.execute(.acknowledge(queue: queue), replyingWith: .nothing)
            }
            if kestrel.opens {
                connection.execute(.reserve(queue: queue, waitingAtMost: kestrel.wait), replyingWith: value, blocking: kestrel.wait != nil)
            } else if kestrel.peeks {
                connection.execute(.peek(queue: queue, waitingAtMost: kestrel.wait), replyingWith: value, blocking: kestrel.wait != nil)
            } else if let wait = kestrel.wait {
                connection.execute(.blockingPop(queues: [queue], end: .head, timeout: wait), replyingWith: value, blocking: true)
            } else if !kestrel.closes && !kestrel.aborts {
                connection.execute(.pop(queue: queue, end: .head, count: nil), replyingWith: value)
            }
        }
        connection.reply { $0.writeMemcacheReply(.end) }
    }

    func store(_ request: MemcacheStorageRequest, on connection: Connection<MemcacheSession<Self>>) {
        guard KestrelKey.isPlainQueueName(request.key) else {
            if !request.noreply {
                connection.reply { $0.writeMemcacheError(MemcacheRequestError(.badCommandLineFormat)) }
            }
            return
        }
        let message = [Message(bytes: request.data, flags: request.flags)]
        switch request.command {
        case .set:
            connection.execute(
                .push(queue: request.key, messages: message, end: .tail, onlyIfAbsent: false),
                replyingWith: .stored(noreply: request.noreply)
            )
        case .add:
            connection.execute(
                .push(queue: request.key, messages: message, end: .tail, onlyIfAbsent: true),
                replyingWith: .added(noreply: request.noreply)
            )
        case .replace, .append, .prepend, .cas:
            connection.reply { $0.writeMemcacheReply(.error) }
        }
    }

    func delete(_ key: ByteBuffer, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        guard KestrelKey.isPlainQueueName(key) else {
            if !noreply {
                connection.reply { $0.writeMemcacheError(MemcacheRequestError(.badCommandLineFormat)) }
            }
            return
        }
        connection.execute(.delete(queues: [key]), replyingWith: .deleted(noreply: noreply))
    }

    func adjust(_ key: ByteBuffer, by delta: UInt64, increment: Bool, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        connection.reply { $0.writeMemcacheReply(.error) }
    }

    func touch(_ key: ByteBuffer, exptime: Int64, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        connection.reply { $0.writeMemcacheReply(.error) }
    }

    /// A delay is not kept: a queue server drops every queue at once.
    func flushAll(delay: Int64?, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        connection.execute(.deleteAll, replyingWith: .flushed(noreply: noreply))
    }

    func stats(_ arguments: MemcacheTokens, on connection: Connection<MemcacheSession<Self>>) -> Bool {
        guard arguments.count == 1, arguments.first == ByteBuffer(string: "queue") else { return false }
        connection.execute(.statistics, replyingWith: .queueStatistics)
        return true
    }

    /// The number of queues.
    func statisticsSnapshot() -> Int {
        self.server.processor?.queueCount ?? 0
    }

    static func writeStatistics(_ part: MemcacheStatisticsPart, of queueCount: Int, into output: inout ByteBuffer) {
        if part == .contents {
            output.writeMemcacheStat("curr_queues", queueCount)
        }
    }

    /// The queues' `added`/`removed` counts are their contents, not counters: they stay.
    func resetStatistics() {}

    func decoderRefused(_ error: MemcacheRequestError) {}

    static func render(_ reply: QueueReply, for pending: PendingReply, into output: inout ByteBuffer) {
        switch (pending, reply) {
        case (.stored(let noreply), .failure(let error)),
            (.added(let noreply), .failure(let error)),
            (.deleted(let noreply), .failure(let error)),
            (.flushed(let noreply), .failure(let error)):
            if !noreply {
                output.writeMemcacheError(error)
            }
        case (.nothing, _):
            break
        case (_, .failure(let error)):
            output.writeMemcacheError(error)
        case (.value(let key, let withCAS), .message(let message)):
            if let message {
                output.writeMemcacheValue(key: key, flags: message.flags, data: message.bytes, cas: withCAS ? 0 : nil)
            }
        case (.value(let key, let withCAS), .popped(_, let message)):
            output.writeMemcacheValue(key: key, flags: message.flags, data: message.bytes, cas: withCAS ? 0 : nil)
        case (.stored(let noreply), .pushed):
            if !noreply {
                output.writeMemcacheReply(.stored)
            }
        case (.added(let noreply), .pushed(let added, _)):
            if !noreply {
                output.writeMemcacheReply(added > 0 ? .stored : .notStored)
            }
        case (.deleted(let noreply), .integer(let deleted)):
            if !noreply {
                output.writeMemcacheReply(deleted > 0 ? .deleted : .notFound)
            }
        case (.flushed(let noreply), .done):
            if !noreply {
                output.writeMemcacheReply(.ok)
            }
        case (.queueStatistics, .statistics(let queues)):
            // In byte order of the names, as MemcacheQ lists them (from a B-Tree), whatever order
            // the processor keeps its queues in.
            let ordered = queues.sorted { $0.name.readableBytesView.lexicographicallyPrecedes($1.name.readableBytesView) }
            for queue in ordered {
                output.writeMemcacheQueueStat(queue: queue.name, added: UInt64(queue.added), removed: UInt64(queue.removed))
            }
            output.writeMemcacheReply(.end)
        default:
            output.writeMemcacheServerError("internal error: unexpected reply \(reply) for \(pending)")
        }
    }
}
