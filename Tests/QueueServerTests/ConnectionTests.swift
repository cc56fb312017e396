import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import QueueCore
import Testing

@testable import QueueServer

/// The connection handler in an `EmbeddedChannel`: bytes in, bytes out, as the server's pipeline
/// has it (one ``Connection`` and nothing else), over a real RAM queue processor.
@Suite struct ConnectionTests {
    @Test func pipelinedRequestsAreAnsweredInOneWrite() throws {
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self)
        try channel.writeInbound(resp(["SADD", "q", "a"]) + resp(["SADD", "q", "b"]) + resp(["SPOP", "q"]) + "PING\r\n")
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":1\r\n:1\r\n$1\r\na\r\n+PONG\r\n"])
    }

    @Test func aRequestArrivingByteByByteIsAnsweredOnceWhole() throws {
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self)
        for byte in resp(["SADD", "q", "binary\r\n\0"]).utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            channel.embeddedEventLoop.run()
        }
        try channel.writeInbound(resp(["SPOP", "q"]))
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":1\r\n", "$9\r\nbinary\r\n\0\r\n"])
    }

    @Test func aLaterProcessorReplyKeepsItsPlaceInLine() throws {
        let processor = HoldingProcessor { if case .length = $0 { true } else { false } }
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self, processor: processor)
        try channel.writeInbound(resp(["SADD", "q", "a"]) + resp(["SCARD", "q"]) + "PING\r\n" + resp(["SPOP", "q"]))
        channel.embeddedEventLoop.run()
        // SADD went out; PONG and SPOP's reply wait behind the SCARD the processor still owes.
        #expect(try Self.written(channel) == [":1\r\n"])
        processor.answerHeldCommands()
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":1\r\n+PONG\r\n$1\r\na\r\n"])
    }

    @Test func aClientPipeliningBigCommandsWaitsForTheirRepliesBeforeSendingMore() throws {
        let processor = HoldingProcessor { if case .push = $0 { true } else { false } }
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self, processor: processor)
        let pushes = (0..<3).map { batch in resp(["SADD", "q"] + (0..<10_000).map { "\(batch)-\($0)" }) }
        try channel.writeInbound(pushes.joined() + "PING\r\n")
        channel.embeddedEventLoop.run()
        // Two pushes of 10,000 messages are owed, past the 16 Ki bound: the third waits unparsed.
        #expect(processor.heldCount == 2)
        #expect(try Self.written(channel) == [])
        processor.answerHeldCommands()
        channel.embeddedEventLoop.run()
        #expect(processor.heldCount == 1)
        #expect(try Self.written(channel) == [":10000\r\n:10000\r\n"])
        processor.answerHeldCommands()
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":10000\r\n+PONG\r\n"])
    }

    @Test func aClientPipeliningBigReadsWaitsForTheirRepliesBeforeSendingMore() throws {
        let processor = HoldingProcessor { if case .range = $0 { true } else { false } }
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self, processor: processor)
        let wholeQueue = String(repeating: resp(["LRANGE", "q", "0", "-1"]), count: 2)
        let tenMessages = String(repeating: resp(["LRANGE", "q", "0", "9"]), count: 10)
        try channel.writeInbound(resp(["RPUSH", "q", "a", "b"]) + wholeQueue + tenMessages)
        channel.embeddedEventLoop.run()
        // A range to the tail may bring the whole queue: it is owed alone.
        #expect(processor.heldCount == 1)
        #expect(try Self.written(channel) == [":2\r\n"])
        processor.answerHeldCommands()
        channel.embeddedEventLoop.run()
        #expect(processor.heldCount == 1)
        #expect(try Self.written(channel) == ["*2\r\n$1\r\na\r\n$1\r\nb\r\n"])
        processor.answerHeldCommands()
        channel.embeddedEventLoop.run()
        // Ten messages of up to 1 MiB each: seven such replies reach the 64 MiB bound.
        #expect(processor.heldCount == 7)
    }

    @Test func aClientThatShutsItsSendingSideIsAnsweredThenClosed() throws {
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self)
        try channel.writeInbound(resp(["SADD", "q", "a"]) + resp(["SPOP", "q"]))
        // The end of the input comes with the requests, before their replies went out.
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":1\r\n$1\r\na\r\n"])
        #expect(!channel.isActive)
    }

    @Test func aClientThatShutsItsSendingSideStillGetsWhatTheProcessorOwesIt() throws {
        let processor = HoldingProcessor { if case .pop = $0 { true } else { false } }
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self, processor: processor)
        try channel.writeInbound(resp(["SADD", "q", "a"]) + resp(["SPOP", "q"]) + "PING\r\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":1\r\n"])
        #expect(channel.isActive)
        processor.answerHeldCommands()
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == ["$1\r\na\r\n+PONG\r\n"])
        #expect(!channel.isActive)
    }

    @Test func aBlockedClientThatShutsItsSendingSideIsLetGoAndTheMessageStaysQueued() throws {
        let server = try Self.server(RedisQueueProgram.self)
        let consumer = try Self.channel(RESPSession.self, on: server)
        try consumer.writeInbound(resp(["BLPOP", "q", "0"]))
        consumer.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        consumer.embeddedEventLoop.run()
        #expect(!consumer.isActive)
        let producer = try Self.channel(RESPSession.self, on: server)
        try producer.writeInbound(resp(["RPUSH", "q", "job"]))
        producer.embeddedEventLoop.run()
        // A delivery the consumer refuses would run on its loop.
        consumer.embeddedEventLoop.run()
        _ = try Self.written(producer)
        try producer.writeInbound(resp(["LPOP", "q"]))
        producer.embeddedEventLoop.run()
        #expect(try Self.written(producer) == ["$3\r\njob\r\n"])
        #expect(try Self.written(consumer) == [])
    }

    @Test func aProtocolErrorIsAnsweredThenTheConnectionCloses() throws {
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self)
        try channel.writeInbound(resp(["SADD", "q", "a"]) + "*1\r\n$-7\r\n" + resp(["SPOP", "q"]))
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [":1\r\n-ERR Protocol error: invalid bulk length\r\n"])
        // The client gets a moment to read the reply before the connection goes.
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive)
    }

    // The shape redis-server 7.0.15 gives: flags, categories, tips and key specifications are
    // RESP3 sets, and so is an empty list of subcommands; a list of subcommands is an array.
    @Test func commandInfoUsesRedisSetsInRESP3() throws {
        let channel = try Self.channel(RESPSession.self, RedisQueueProgram.self)
        try channel.writeInbound(resp(["HELLO", "3"]))
        channel.embeddedEventLoop.run()
        _ = try Self.written(channel)
        try channel.writeInbound(resp(["COMMAND", "INFO", "ping"]))
        channel.embeddedEventLoop.run()
        let ping = try Self.written(channel).joined()
        #expect(ping.hasPrefix("*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n"))
        #expect(ping.hasSuffix("~0\r\n~0\r\n~0\r\n"))
        try channel.writeInbound(resp(["COMMAND", "INFO", "client"]))
        channel.embeddedEventLoop.run()
        let client = try Self.written(channel).joined()
        #expect(client.contains("+@slow\r\n~0\r\n~0\r\n*5\r\n*10\r\n$14\r\nclient|setname\r\n"))
    }

    @Test func memcachedQueueRequestsAndFlagsRoundTrip() throws {
        let channel = try Self.channel(MemcacheSession<MemcacheQueueStore>.self, MemcacheQueueProgram.self)
        try channel.writeInbound("set q 7 0 2\r\nab\r\nadd q 9 0 2\r\nab\r\nget q q\r\n")
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == ["STORED\r\nNOT_STORED\r\nVALUE q 7 2\r\nab\r\nEND\r\n"])
    }

    @Test func aRefusedClientGetsTheProtocolsErrorAndIsClosed() throws {
        let channel = EmbeddedChannel(handler: RefusingHandler(reply: RESPSession.tooManyClientsReply))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == ["-ERR max number of clients reached\r\n"])
        #expect(!channel.isActive)
    }

    // MARK: Helpers

    /// A connected channel whose only handler is a connection of `Session`, configured as
    /// `Program` with `arguments` on its command line.
    private static func channel<Session: WireSession, Program: ProgramProfile>(
        _ session: Session.Type,
        _ program: Program.Type,
        arguments: [String] = [],
        processor: (any QueueProcessor)? = nil
    ) throws -> EmbeddedChannel {
        try Self.channel(session, on: Self.server(program, arguments: arguments, processor: processor))
    }

    /// A server configured as `Program` with `arguments` on its command line.
    private static func server<Program: ProgramProfile>(
        _ program: Program.Type,
        arguments: [String] = [],
        processor: (any QueueProcessor)? = nil
    ) throws -> ServerContext {
        ServerContext(
            configuration: ServerConfiguration(try ServerOptions<Program>.parse(arguments)),
            processor: processor ?? RAMQueueProcessor(),
            logger: Logger(label: "test")
        )
    }

    /// A connected channel, on a loop of its own, whose only handler is a connection of `server`.
    private static func channel<Session: WireSession>(_ session: Session.Type, on server: ServerContext) throws -> EmbeddedChannel {
        let loop = EmbeddedEventLoop()
        let id = try #require(server.registry.admit())
        let connection = Connection<Session>(id: id, server: server, eventLoop: loop, flusher: ReplyFlusher(eventLoop: loop))
        let channel = EmbeddedChannel(handler: connection, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Every write the connection made since the last call, as text. Empty writes (a close
    /// waits on one for what was written before) never reach the client and are left out.
    private static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            if buffer.readableBytes > 0 {
                writes.append(String(decoding: buffer.readableBytesView, as: UTF8.self))
            }
        }
        return writes
    }
}

private func resp(_ arguments: [String]) -> String {
    "*\(arguments.count)\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

extension EmbeddedChannel {
    fileprivate func writeInbound(_ text: String) throws {
        try self.writeInbound(ByteBuffer(string: text))
    }
}

/// A RAM queue processor that delivers its answers to the commands `holds` picks only when told
/// to, as the disk queue delivers every answer later: it exercises the connection's reply
/// ordering and its bound on owed work.
private final class HoldingProcessor: QueueProcessor {
    private let queues = RAMQueueProcessor()
    private let holds: @Sendable (QueueCommand) -> Bool
    private let held = NIOLockedValueBox<[(client: any QueueClient, reply: QueueReply)]>([])

    init(holding holds: @escaping @Sendable (QueueCommand) -> Bool) {
        self.holds = holds
    }

    func execute(_ command: QueueCommand, for client: any QueueClient) -> QueueReply? {
        guard let reply = self.queues.execute(command, for: client) else { return nil }
        guard self.holds(command) else { return reply }
        self.held.withLockedValue { $0.append((client, reply)) }
        return nil
    }

    /// How many replies wait to be delivered.
    var heldCount: Int { self.held.withLockedValue { $0.count } }

    /// Delivers the held replies now, on the test's (the loop's) thread.
    func answerHeldCommands() {
        let held = self.held.withLockedValue { held -> [(client: any QueueClient, reply: QueueReply)] in
            let taken = held
            held.removeAll()
            return taken
        }
        for (client, reply) in held {
            client.deliver([reply])
        }
    }

    var queueCount: Int { self.queues.queueCount }
    var waitingClients: Int { self.queues.waitingClients }
    func clientDisconnected(_ client: any QueueClient) { self.queues.clientDisconnected(client) }
    func shutdown() async throws { try await self.queues.shutdown() }
}
