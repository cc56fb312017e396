import ASCIIBytes
import NIOCore
import QueueCore
import RESP

/// One Redis-protocol client: its protocol version, authentication and name, and the dispatch of
/// its requests (SPEC §3). Queue commands go to the processor; the rest are answered here.
struct RESPSession: WireSession {
    typealias PendingReply = RESPPendingReply

    var decoder: RESPRequestDecoder
    let server: ServerContext
    var version = RESPVersion.v2
    var isAuthenticated: Bool
    var clientName: ByteBuffer?
    var libraryName: String?
    var libraryVersion: String?
    /// The arguments of the request being handled; one array reused for every request.
    var argv: [ByteBuffer] = []
    /// The messages of the push being handled, reused like `argv`: a processor that answers at
    /// once has let go of them by the next request, so the array is refilled in place.
    private var pushedMessages: [Message] = []

    init(server: ServerContext) {
        self.server = server
        self.isAuthenticated = server.configuration.password == nil
        self.decoder = RESPRequestDecoder(limits: .init(maximumBulkLength: server.configuration.maximumMessageSize))
        self.decoder.requiresAuthentication = !self.isAuthenticated
        self.argv.reserveCapacity(8)
        self.pushedMessages.reserveCapacity(8)
    }

    static var tooManyClientsReply: StaticString { "-ERR max number of clients reached\r\n" }

    static func writeDecodingError(_ error: any Error, into output: inout ByteBuffer) {
        let message = (error as? RESPProtocolError)?.message ?? "Protocol error: \(error)"
        output.writeRESPError(message)
    }

    mutating func handle(_ request: RESPRequest, on connection: Connection<RESPSession>) {
        request.arguments(into: &self.argv)
        guard let (command, arity) = CommandName(self.argv[0]).flatMap({ RESPCommand.byName[$0] }) else {
            connection.reply { $0.writeUnknownCommandError(self.argv) }
            return
        }
        guard arity.accepts(argumentCount: self.argv.count) else {
            connection.reply { $0.writeRESPError("wrong number of arguments for '\(command.spec.name)' command") }
            return
        }
        guard self.isAuthenticated || command.isAllowedBeforeAuthentication else {
            connection.reply { $0.writeRESPError(code: "NOAUTH", "Authentication required.") }
            return
        }
        switch command {
        case .sadd, .spop, .scard, .sismember, .smismember, .srem, .del, .exists, .type, .dbsize,
            .flushdb, .flushall, .keys, .scan:
            self.handleQueueCommand(command, on: connection)
        case .rpush, .lpush, .lpop, .rpop, .llen, .lrange, .lindex, .lrem, .lmove, .rpoplpush,
            .blpop, .brpop, .blmove, .brpoplpush:
            self.handleListCommand(command, on: connection)
        case .ping, .echo, .quit, .select, .hello, .auth, .client:
            self.handleConnectionCommand(command, on: connection)
        case .command, .config, .info, .time:
            self.handleServerCommand(command, on: connection)
        }
    }

    // MARK: Queue commands

    /// `SADD`, `LPUSH`, `RPUSH`: pushes `argv[2...]` onto `argv[1]`. The hot path: the arguments are
    /// moved out of argv into one reused message array, not copied, so no reference counting is paid
    /// for them.
    mutating func pushArguments(at end: QueueEnd, replyingWith shape: RESPPendingReply.Shape, on connection: Connection<RESPSession>) {
        self.pushedMessages.removeAll(keepingCapacity: true)
        while self.argv.count > 2 {
            self.pushedMessages.append(Message(bytes: self.argv.removeLast()))
        }
        self.pushedMessages.reverse()
        connection.execute(
            .push(queue: self.argv.removeLast(), messages: self.pushedMessages, end: end, onlyIfAbsent: false),
            replyingWith: RESPPendingReply(shape: shape, version: self.version)
        )
    }

    /// `SPOP q`, `LPOP q`, `RPOP q`: one message from `end` of `argv[1]`, the name moved out of argv.
    mutating func popOneMessage(at end: QueueEnd, on connection: Connection<RESPSession>) {
        connection.execute(
            .pop(queue: self.argv.removeLast(), end: end, count: nil),
            replyingWith: RESPPendingReply(shape: .messageOrNull, version: self.version)
        )
    }

    private mutating func handleQueueCommand(_ command: RESPCommand, on connection: Connection<RESPSession>) {
        switch command {
        case .sadd:
            return self.pushArguments(at: .tail, replyingWith: .addedCount, on: connection)
        case .spop where self.argv.count == 2:
            return self.popOneMessage(at: .head, on: connection)
        default:
            break
        }
        let argv = self.argv
        func run(_ queueCommand: QueueCommand, _ shape: RESPPendingReply.Shape) {
            connection.execute(queueCommand, replyingWith: RESPPendingReply(shape: shape, version: self.version))
        }
        switch command {
        case .spop:
            guard argv.count == 3 else {
                return connection.reply { $0.writeRESPError("syntax error") }
            }
            guard let count = argv[2].readableStrictInt64, count >= 0 else {
                return connection.reply { $0.writeRESPError("value is out of range, must be positive") }
            }
            run(.pop(queue: argv[1], end: .head, count: Int(count)), .messageSet)
        case .scard:
            run(.length(queue: argv[1]), .integer)
        case .sismember:
            run(.contains(queue: argv[1], members: [argv[2]]), .membership)
        case .smismember:
            run(.contains(queue: argv[1], members: Array(argv[2...])), .memberships)
        case .srem:
            run(.remove(queue: argv[1], members: Array(argv[2...])), .integer)
        case .del:
            run(.delete(queues: Array(argv[1...])), .integer)
        case .exists:
            run(.exists(queues: Array(argv[1...])), .integer)
        case .type:
            run(.exists(queues: [argv[1]]), .type)
        case .dbsize:
            run(.queueCount, .integer)
        case .flushdb, .flushall:
            guard argv.count == 1 || (argv.count == 2 && (argv[1].equalsCaseInsensitive("ASYNC") || argv[1].equalsCaseInsensitive("SYNC"))) else {
                return connection.reply { $0.writeRESPError("syntax error") }
            }
            run(.deleteAll, .ok)
        case .keys:
            run(.names(matching: argv[1]), .names)
        case .scan:
            self.scan(on: connection, run: run)
        default:
            preconditionFailure("\(command) is not a queue command")
        }
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
    private func scan(on connection: Connection<RESPSession>, run: (QueueCommand, RESPPendingReply.Shape) -> Void) {
        let argv = self.argv
        guard let cursor = argv[1].readableScanCursor else {
            return connection.reply { $0.writeRESPError("invalid cursor") }
        }
        var pattern: ByteBuffer?
        var count = 10
        var onlyOtherTypes = false
        var index = 2
        while index < argv.count {
            guard index + 1 < argv.count else {
                return connection.reply { $0.writeRESPError("syntax error") }
            }
            let option = argv[index]
            let value = argv[index + 1]
            if option.equalsCaseInsensitive("MATCH") {
                pattern = value
            } else if option.equalsCaseInsensitive("COUNT") {
                guard let parsed = value.readableStrictInt64 else {
                    return connection.reply { $0.writeRESPError("value is not an integer or out of range") }
                }
                guard parsed >= 1 else {
                    return connection.reply { $0.writeRESPError("syntax error") }
                }
                count = Int(clamping: parsed)
            } else if option.equalsCaseInsensitive("TYPE") {
                // Every key is a queue, reported as a set.
                onlyOtherTypes = !value.equalsCaseInsensitive("set")
            } else {
                return connection.reply { $0.writeRESPError("syntax error") }
            }
            index += 2
        }
        if onlyOtherTypes {
            return connection.reply { output in
                output.writeRESPArrayHeader(2)
                output.writeRESPBulk("0")
                output.writeRESPArrayHeader(0)
            }
        }
        run(.scan(cursor: cursor, matching: pattern, count: count), .scanPage)
    }
}

extension ByteBuffer {
    /// A SCAN cursor as Redis reads it, with C's `strtoul` in base 10: an optional sign (`-1` is
    /// the largest cursor), digits up to the end or a NUL, none at all meaning 0; a leading space,
    /// any other byte or a value past 64 bits is an invalid cursor.
    var readableScanCursor: UInt64? {
        self.withUnsafeReadableBytes { bytes in
            let number = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.firstIndex(of: 0) ?? bytes.endIndex)])
            guard let sign = number.first else { return 0 }
            let negative = sign == UInt8(ascii: "-")
            let signed = negative || sign == UInt8(ascii: "+")
            guard let value = ASCIIDecimal.unsignedDigits(signed ? UnsafeRawBufferPointer(rebasing: number.dropFirst()) : number) else {
                return nil
            }
            return negative ? 0 &- value : value
        }
    }

    /// Compares the readable bytes with an ASCII word, ignoring case.
    func equalsCaseInsensitive(_ word: StaticString) -> Bool {
        guard self.readableBytes == word.utf8CodeUnitCount else { return false }
        return self.withUnsafeReadableBytes { bytes in
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let lower = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
                let expected = word.utf8Start[index]
                let expectedLower = expected >= UInt8(ascii: "A") && expected <= UInt8(ascii: "Z") ? expected + 32 : expected
                if lower != expectedLower {
                    return false
                }
            }
            return true
        }
    }

    /// `unknown command 'name', with args beginning with: 'a' 'b' `, cut at 128 bytes as Redis cuts it.
    mutating func writeUnknownCommandError(_ argv: [ByteBuffer]) {
        var message = ByteBuffer()
        message.writeStaticString("unknown command '")
        message.writeCString(argv[0], limit: 128)
        message.writeStaticString("', with args beginning with: ")
        var arguments = ByteBuffer()
        for argument in argv.dropFirst() where arguments.readableBytes < 128 {
            let room = 128 - arguments.readableBytes
            arguments.writeInteger(UInt8(ascii: "'"))
            arguments.writeCString(argument, limit: room)
            arguments.writeStaticString("' ")
        }
        message.writeImmutableBuffer(arguments)
        self.writeRESPError(message: message)
    }

    /// Writes `bytes` as C's `%.*s` prints them: up to `limit` bytes, stopping at a NUL. Error
    /// messages quoting what a client sent must match Redis's byte for byte, whatever the bytes.
    mutating func writeCString(_ bytes: ByteBuffer, limit: Int = .max) {
        let view = bytes.readableBytesView
        let end = view.firstIndex(of: 0) ?? view.endIndex
        let length = min(limit, end - view.startIndex)
        self.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex, length: length)!)
    }
}
