import ASCIIBytes
import NIOCore
import QueueCore
import RESP

/// Redis's list commands on the same queues (issue: reliable and blocking consumption): the head
/// is the left end, the tail the right end, so RPUSH + LPOP is the FIFO that SADD + SPOP is.
extension RESPSession {
    mutating func handleListCommand(_ command: RESPCommand, on connection: Connection<RESPSession>) {
        switch command {
        case .rpush, .lpush:
            return self.pushArguments(at: command == .rpush ? .tail : .head, replyingWith: .lengthAfterPush, on: connection)
        case .lpop where self.argv.count == 2, .rpop where self.argv.count == 2:
            return self.popOneMessage(at: command == .lpop ? .head : .tail, on: connection)
        default:
            break
        }
        let argv = self.argv
        let version = self.version
        func run(_ queueCommand: QueueCommand, _ shape: RESPPendingReply.Shape, blocking: Bool = false) {
            connection.execute(queueCommand, replyingWith: RESPPendingReply(shape: shape, version: version), blocking: blocking)
        }
        func error(_ message: String) {
            connection.reply { $0.writeRESPError(message) }
        }
        switch command {
        case .lpop, .rpop:
            let end: QueueEnd = command == .lpop ? .head : .tail
            guard argv.count == 3 else { return error("wrong number of arguments for '\(command.spec.name)' command") }
            guard let count = argv[2].readableStrictInt64, count >= 0 else {
                return error("value is out of range, must be positive")
            }
            if count == 0 {
                return run(.exists(queues: [argv[1]]), .emptyArrayIfExists)
            }
            run(.pop(queue: argv[1], end: end, count: Int(count)), .messageArrayOrNull)
        case .llen:
            run(.length(queue: argv[1]), .integer)
        case .lrange:
            guard let start = argv[2].readableStrictInt64, let stop = argv[3].readableStrictInt64 else {
                return error("value is not an integer or out of range")
            }
            run(.range(queue: argv[1], start: Int(start), stop: Int(stop)), .messageArray)
        case .lindex:
            guard let index = argv[2].readableStrictInt64 else {
                // Redis looks the key up first: a missing one is null whatever the index.
                return run(.exists(queues: [argv[1]]), .notAnIntegerIfExists)
            }
            run(.element(queue: argv[1], index: Int(index)), .messageOrNull)
        case .lrem:
            guard let count = argv[2].readableStrictInt64 else {
                return error("value is not an integer or out of range")
            }
            run(.removeOccurrences(queue: argv[1], member: argv[3], count: Int(count)), .integer)
        case .lmove:
            guard let from = Self.end(argv[3]), let to = Self.end(argv[4]) else { return error("syntax error") }
            run(.move(source: argv[1], destination: argv[2], from: from, to: to), .messageOrNull)
        case .rpoplpush:
            run(.move(source: argv[1], destination: argv[2], from: .tail, to: .head), .messageOrNull)
        case .blpop, .brpop:
            guard let timeout = Self.timeout(argv[argv.count - 1], on: connection) else { return }
            let queues = Array(argv[1..<(argv.count - 1)])
            let end: QueueEnd = command == .blpop ? .head : .tail
            run(.blockingPop(queues: queues, end: end, timeout: timeout), .queueAndMessageOrNull, blocking: true)
        case .blmove:
            guard let from = Self.end(argv[3]), let to = Self.end(argv[4]) else { return error("syntax error") }
            guard let timeout = Self.timeout(argv[5], on: connection) else { return }
            run(.blockingMove(source: argv[1], destination: argv[2], from: from, to: to, timeout: timeout), .messageOrNullArray, blocking: true)
        case .brpoplpush:
            guard let timeout = Self.timeout(argv[3], on: connection) else { return }
            run(.blockingMove(source: argv[1], destination: argv[2], from: .tail, to: .head, timeout: timeout), .messageOrNullArray, blocking: true)
        default:
            preconditionFailure("\(command) is not a list command")
        }
    }

    /// LEFT or RIGHT, in any case.
    private static func end(_ word: ByteBuffer) -> QueueEnd? {
        if word.equalsCaseInsensitive("LEFT") { return .head }
        if word.equalsCaseInsensitive("RIGHT") { return .tail }
        return nil
    }

    /// A blocking command's timeout, read as Redis 7 reads it (``RedisTimeout``): seconds, with
    /// fractions, rounded up to whole milliseconds, and a value too large for Redis's 64-bit
    /// milliseconds "negative", as its conversion makes it.
    ///
    /// - Returns: nil after replying Redis's error; `.some(nil)` for "wait for ever".
    private static func timeout(_ argument: ByteBuffer, on connection: Connection<RESPSession>) -> TimeAmount?? {
        switch RedisTimeout(argument) {
        case .notANumber:
            connection.reply { $0.writeRESPError("timeout is not a float or out of range") }
            return nil
        case .negative:
            connection.reply { $0.writeRESPError("timeout is negative") }
            return nil
        case .forever:
            return .some(nil)
        case .milliseconds(let milliseconds):
            return .some(.milliseconds(milliseconds))
        }
    }
}
