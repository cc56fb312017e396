import NIOCore
import QueueCore
import RESP

/// How a queue command's reply is rendered, decided when the command is parsed.
struct RESPPendingReply {
    enum Shape {
        /// `.integer` as an integer.
        case integer
        /// How many messages a push enqueued (SADD).
        case addedCount
        /// One message as a bulk string, or null (SPOP without count).
        case messageOrNull
        /// Messages as a set (SPOP with count).
        case messageSet
        /// The first membership as 0/1 (SISMEMBER).
        case membership
        /// Memberships as an array of 0/1 (SMISMEMBER).
        case memberships
        /// `set` when the queue exists, `none` otherwise (TYPE).
        case type
        /// `+OK` (FLUSHDB, FLUSHALL).
        case ok
        /// Queue names as an array (KEYS).
        case names
        /// A SCAN page: cursor and names.
        case scanPage
        /// The queue's length after a push (RPUSH, LPUSH).
        case lengthAfterPush
        /// Messages as an array (LRANGE).
        case messageArray
        /// Messages as an array, or the null array when none (LPOP/RPOP with a count).
        case messageArrayOrNull
        /// For LPOP/RPOP with count 0: an empty array if the queue exists, the null array if not.
        case emptyArrayIfExists
        /// For LINDEX with an index that is no integer: that error if the queue exists, null if not.
        case notAnIntegerIfExists
        /// `[queue, message]`, or the null array when the time ran out (BLPOP, BRPOP).
        case queueAndMessageOrNull
        /// The message, or the null array when the time ran out (BLMOVE, BRPOPLPUSH).
        case messageOrNullArray
    }

    var shape: Shape
    var version: RESPVersion
}

extension RESPSession {
    static func render(_ reply: QueueReply, for pending: RESPPendingReply, into output: inout ByteBuffer) {
        let version = pending.version
        switch (pending.shape, reply) {
        case (_, .failure(let error)):
            output.writeRESPError(error)
        case (.integer, .integer(let value)):
            output.writeRESPInteger(value)
        case (.addedCount, .pushed(let added, _)):
            output.writeRESPInteger(added)
        case (.messageOrNull, .message(let message)):
            if let message {
                output.writeRESPBulk(message.bytes)
            } else {
                output.writeRESPNull(version)
            }
        case (.messageSet, .messages(let messages)):
            output.writeRESPSetHeader(messages.count, version)
            for message in messages {
                output.writeRESPBulk(message.bytes)
            }
        case (.membership, .memberships(let found)):
            output.writeRESPInteger(found.first == true ? 1 : 0)
        case (.memberships, .memberships(let found)):
            output.writeRESPArrayHeader(found.count)
            for isMember in found {
                output.writeRESPInteger(isMember ? 1 : 0)
            }
        case (.type, .integer(let existing)):
            output.writeStaticString(existing > 0 ? "+set\r\n" : "+none\r\n")
        case (.ok, .done):
            output.writeStaticString("+OK\r\n")
        case (.names, .names(let names)):
            output.writeRESPArrayHeader(names.count)
            for name in names {
                output.writeRESPBulk(name)
            }
        case (.lengthAfterPush, .pushed(_, let length)):
            output.writeRESPInteger(length)
        case (.messageArray, .messages(let messages)):
            output.writeRESPArrayHeader(messages.count)
            for message in messages {
                output.writeRESPBulk(message.bytes)
            }
        case (.messageArrayOrNull, .messages(let messages)):
            if messages.isEmpty {
                output.writeRESPNullArray(version)
            } else {
                output.writeRESPArrayHeader(messages.count)
                for message in messages {
                    output.writeRESPBulk(message.bytes)
                }
            }
        case (.emptyArrayIfExists, .integer(let existing)):
            if existing > 0 {
                output.writeRESPArrayHeader(0)
            } else {
                output.writeRESPNullArray(version)
            }
        case (.notAnIntegerIfExists, .integer(let existing)):
            if existing > 0 {
                output.writeRESPError("value is not an integer or out of range")
            } else {
                output.writeRESPNull(version)
            }
        case (.queueAndMessageOrNull, .popped(let queue, let message)):
            output.writeRESPArrayHeader(2)
            output.writeRESPBulk(queue)
            output.writeRESPBulk(message.bytes)
        case (.queueAndMessageOrNull, .message(nil)), (.messageOrNullArray, .message(nil)):
            output.writeRESPNullArray(version)
        case (.messageOrNullArray, .message(let message?)):
            output.writeRESPBulk(message.bytes)
        case (.scanPage, .scanPage(let cursor, let names)):
            output.writeRESPArrayHeader(2)
            output.writeRESPBulk(String(cursor))
            output.writeRESPArrayHeader(names.count)
            for name in names {
                output.writeRESPBulk(name)
            }
        default:
            output.writeRESPError("internal error: unexpected reply \(reply) for \(pending.shape)")
        }
    }
}

extension ByteBuffer {
    /// A processor's refusal in Redis's words (OOM as Redis's maxmemory error).
    mutating func writeRESPError(_ error: QueueError) {
        switch error {
        case .outOfMemory:
            self.writeRESPError(code: "OOM", "command not allowed when used memory > 'maxmemory'.")
        case .tooManyQueues:
            self.writeRESPError("max number of queues reached")
        case .storageFailure(let reason):
            self.writeRESPError("disk store failure: \(reason)")
        case .shuttingDown:
            self.writeRESPError("server is shutting down")
        case .reservationAlreadyOpen:
            self.writeRESPError("a reservation is already open on this queue")
        }
    }
}
