import DequeModule
import Logging
import NIOCore
import QueueCore

/// One client connection: the only handler in its pipeline. It accumulates input, lets its
/// ``WireSession`` decode and dispatch requests, collects every reply of a read batch in one
/// buffer and writes it with one flush (DESIGN.md rules 1-4).
///
/// Replies leave in request order even when a processor answers later: a reply produced while an
/// earlier processor reply is still owed is rendered aside and queued behind it. So a connection
/// can hand all its pipelined commands to the disk queue at once, and they share one group commit.
/// Only a blocking command (one that waits for a message) stops the parsing of later commands,
/// as in Redis.
///
/// All state is touched on the channel's event loop only, hence `@unchecked Sendable`: processors
/// deliver on that loop, as ``QueueClient`` requires.
final class Connection<Session: WireSession>: ChannelDuplexHandler, QueueClient, QuiescableConnection, DeferredFlushing,
    @unchecked Sendable
{
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A reply not yet written, in request order.
    private enum OwedReply {
        /// The processor has not answered yet.
        case fromProcessor(Session.PendingReply, weight: Weight)
        /// Ready, but behind a reply the processor still owes.
        case rendered(ByteBuffer)
    }

    /// Write the reply buffer out early once it holds this much.
    private static var flushThreshold: Int { 64 << 10 }
    /// Most processor replies one connection may have outstanding; bounds the work a pipelining
    /// client can queue up before it is made to wait.
    private static var maximumOwedReplies: Int { 4096 }
    /// Most messages of work (``QueueCommand/messageCount``) those replies may stand for: a client
    /// pipelining big commands (SADD of thousands of members) would otherwise queue seconds of
    /// disk work ahead of every other client's commands.
    private static var maximumOwedMessages: Int { 16 << 10 }
    /// Most reply data (``QueueCommand/repliedMessagesAtMost`` times `--max-message-size`) those
    /// replies may bring: a client pipelining `LRANGE q 0 -1` or peeks of big messages, and not
    /// reading, would otherwise have the processor render gigabytes it cannot send.
    private static var maximumOwedReplyBytes: Int { 64 << 20 }
    /// Keep reading while paused only until this much input waits.
    private static var maximumWaitingInput: Int { 64 << 10 }

    let id: Int
    let server: ServerContext
    let eventLoop: any EventLoop
    private let flusher: ReplyFlusher
    private var session: Session
    private var context: ChannelHandlerContext?
    private var received: ByteBuffer?
    private var output = ByteBuffer()
    private var owed = Deque<OwedReply>()
    /// The sum of the weights of the replies owed by the processor.
    private var owedWeight = Weight()
    var recentQueue: AnyObject?
    private var messageBuffer = ByteBuffer()

    private var isOpen = false
    private var isWritable = true
    /// After the last reply went out on a close the client asked for: input is read and dropped
    /// until the client closes too, so the kernel doesn't reset the connection (losing the reply)
    /// over unread input.
    private var isDiscardingInput = false
    /// The client shut its sending side: it is answered what it sent, then the connection closes.
    private var isInputClosed = false
    private var awaitingBlockingReply = false
    private var closeRequested = false
    private var isQuiescing = false
    private var isClosing = false
    private var heldRead = false
    private var isFlushDeferred = false
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    /// - Parameter flusher: The flusher of `eventLoop`.
    init(id: Int, server: ServerContext, eventLoop: any EventLoop, flusher: ReplyFlusher) {
        self.id = id
        self.server = server
        self.eventLoop = eventLoop
        self.flusher = flusher
        self.session = Session(server: server)
    }

    // MARK: What sessions use

    /// Writes a reply produced now, in its turn.
    @inline(__always)
    func reply(_ write: (inout ByteBuffer) -> Void) {
        if self.owed.isEmpty {
            write(&self.output)
        } else {
            var rendered = ByteBuffer()
            write(&rendered)
            self.owed.append(.rendered(rendered))
        }
    }

    /// Runs a processor command; its reply is rendered with `pending` now or when it comes.
    ///
    /// - Parameter blocking: The command may wait for a message; later requests wait for its reply.
    func execute(_ command: QueueCommand, replyingWith pending: Session.PendingReply, blocking: Bool = false) {
        guard let processor = self.server.processor else {
            preconditionFailure("\(self.server.configuration.programName) has no queue processor")
        }
        if let reply = processor.execute(command, for: self) {
            self.reply { Session.render(reply, for: pending, into: &$0) }
        } else {
            let weight = Weight(of: command, maximumMessageSize: self.server.configuration.maximumMessageSize)
            self.owed.append(.fromProcessor(pending, weight: weight))
            self.owedWeight.add(weight)
            if blocking {
                self.awaitingBlockingReply = true
            }
        }
    }

    /// Closes the connection once every reply owed so far is written (QUIT, protocol errors).
    func closeAfterReplies() {
        self.closeRequested = true
    }

    /// How long a closing connection waits for the client to close after the last reply.
    private static var lingerTime: TimeAmount { .seconds(2) }

    var remoteAddress: SocketAddress? { self.context?.channel.remoteAddress }

    // MARK: QueueClient

    @discardableResult
    @_specialize(where Session == RESPSession)
    @_specialize(where Session == MemcacheSession<MemcacheCacheStore>)
    @_specialize(where Session == MemcacheSession<MemcacheQueueStore>)
    func deliver(_ replies: [QueueReply]) -> Bool {
        self.eventLoop.assertInEventLoop()
        // A reply nobody waits for any more (the connection closed, or stopped waiting on shutdown)
        // is refused, so that a message it carries goes back to its queue.
        guard self.isOpen, !self.owed.isEmpty else { return false }
        for reply in replies {
            guard case .fromProcessor(let pending, let weight) = self.owed.popFirst() else {
                assertionFailure("a processor delivered a reply nobody is waiting for")
                continue
            }
            self.owedWeight.subtract(weight)
            Session.render(reply, for: pending, into: &self.output)
            while let next = self.owed.first, case .rendered(let rendered) = next {
                self.owed.removeFirst()
                self.output.writeImmutableBuffer(rendered)
            }
        }
        if self.owed.isEmpty {
            self.awaitingBlockingReply = false
        }
        if self.server.configuration.idleTimeout != nil {
            // As Redis counts a write as interaction: a client answered after a long wait (a
            // blocking pop that timed out or was served) is idle from now, not since it asked.
            self.lastActivity = .now()
        }
        self.processInput()
        self.flushAtEndOfTurn()
        self.finishIfDone()
        return true
    }

    func withMessageBuffer<Result>(_ body: (inout ByteBuffer) -> Result) -> Result {
        body(&self.messageBuffer)
    }

    // MARK: QuiescableConnection

    func quiesce() {
        self.eventLoop.assertInEventLoop()
        self.isQuiescing = true
        if self.awaitingBlockingReply {
            // A blocked client would wait forever; its processor forgets it when it closes.
            self.forgetOwedReplies()
        }
        self.flush()
        self.finishIfDone()
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.output = context.channel.allocator.buffer(capacity: 16 << 10)
        if context.channel.isActive {
            self.becameActive(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        guard !self.isOpen else { return }
        self.isOpen = true
        self.server.statistics.connectionsAccepted.add(1, ordering: .relaxed)
        self.server.registry.register(self.id, self)
        if let timeout = self.server.configuration.idleTimeout {
            self.scheduleIdleCheck(after: timeout)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isOpen = false
        self.idleCheck?.cancel()
        self.forgetOwedReplies()
        self.server.processor?.clientDisconnected(self)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.isOpen = false
        self.context = nil
        self.server.registry.remove(self.id)
    }

    // NIO calls a handler through its protocol, which lands in the generic body; the entry points
    // of the request path carry one specialisation per session type, so decoding, dispatch and the
    // reply buffer run on concrete types (about 15% of a RAM command's CPU time otherwise).
    @_specialize(where Session == RESPSession)
    @_specialize(where Session == MemcacheSession<MemcacheCacheStore>)
    @_specialize(where Session == MemcacheSession<MemcacheQueueStore>)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.isDiscardingInput else { return }
        let buffer = Self.unwrapInboundIn(data)
        self.server.statistics.bytesRead.add(buffer.readableBytes, ordering: .relaxed)
        if self.server.configuration.idleTimeout != nil {
            self.lastActivity = .now()
        }
        if self.received == nil {
            self.received = buffer
        } else {
            var buffer = buffer
            self.received!.writeBuffer(&buffer)
        }
        self.processInput()
    }

    @_specialize(where Session == RESPSession)
    @_specialize(where Session == MemcacheSession<MemcacheCacheStore>)
    @_specialize(where Session == MemcacheSession<MemcacheQueueStore>)
    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushAtEndOfTurn()
        self.finishIfDone()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.isWritable = context.channel.isWritable
        if self.isWritable {
            self.processInput()
            self.flush()
            self.finishIfDone()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            self.inputClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The client shut its sending side (or closed; which, only a write can tell). Like Redis,
    /// the commands it sent are answered before the connection closes, so `printf 'SPOP q\r\n' |
    /// nc -N` gets its message.
    private func inputClosed() {
        self.isInputClosed = true
        self.processInput()
        self.finishIfDone()
    }

    func read(context: ChannelHandlerContext) {
        if self.shouldRead {
            context.read()
        } else {
            self.heldRead = true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.server.logger.debug("closing client \(self.id): \(error)")
        context.close(promise: nil)
    }

    // MARK: Processing

    /// Requests wait while this holds; their bytes stay in `received`.
    private var isPaused: Bool {
        self.closeRequested || self.isQuiescing || self.awaitingBlockingReply || !self.isWritable
            || self.owed.count >= Self.maximumOwedReplies || self.owedWeight.messages >= Self.maximumOwedMessages
            || self.owedWeight.replyBytes >= Self.maximumOwedReplyBytes
    }

    private func forgetOwedReplies() {
        self.owed.removeAll()
        self.owedWeight = Weight()
    }

    private var shouldRead: Bool {
        self.isDiscardingInput
            || (!self.closeRequested && !self.isQuiescing
                && (!self.isPaused || (self.received?.readableBytes ?? 0) < Self.maximumWaitingInput))
    }

    /// Decodes and handles every complete request received, unless paused.
    private func processInput() {
        guard var input = self.received, self.isOpen else { return }
        self.received = nil  // so that decoding works on a uniquely referenced buffer
        var handled = 0
        while !self.isPaused {
            let request: Session.Decoder.InboundOut?
            do {
                request = try self.session.decoder.decode(buffer: &input)
            } catch {
                self.reply { Session.writeDecodingError(error, into: &$0) }
                self.closeAfterReplies()
                break
            }
            guard let request else { break }
            handled += 1
            self.session.handle(request, on: self)
            if self.output.readableBytes >= Self.flushThreshold {
                self.flush()
            }
        }
        if handled > 0 {
            self.server.statistics.commandsProcessed.add(handled, ordering: .relaxed)
        }
        if input.readableBytes > 0 && !self.closeRequested {
            if input.readerIndex >= 16 << 10 && input.readerIndex > input.readableBytes {
                input.discardReadBytes()
            }
            self.received = input
        }
        if self.heldRead && self.shouldRead {
            self.heldRead = false
            self.context?.read()
        }
    }

    /// Leaves the replies to the loop's ``ReplyFlusher``, so that those of every connection
    /// served in this turn (after reads, or after a processor's deliveries) go out in one burst.
    private func flushAtEndOfTurn() {
        if self.output.readableBytes > 0 && !self.isFlushDeferred {
            self.isFlushDeferred = true
            self.flusher.flushAtEndOfTurn(self)
        }
    }

    func flushDeferred() {
        self.isFlushDeferred = false
        self.flush()
    }

    private func flush() {
        guard let context = self.context, self.output.readableBytes > 0 else { return }
        // Move the replies out first: writing may re-enter this handler (a write that crosses
        // the high-water mark and drains at once fires channelWritabilityChanged), and must not
        // find them still here to write twice.
        var written = self.output
        self.output = ByteBuffer()
        self.server.statistics.bytesWritten.add(written.readableBytes, ordering: .relaxed)
        context.writeAndFlush(Self.wrapOutboundOut(written), promise: nil)
        // Reuse the storage when nothing new was written meanwhile; once NIO has let go of it,
        // clearing does not allocate. A huge buffer is let go.
        if self.output.readableBytes == 0 && written.capacity <= 1 << 20 {
            written.clear()
            self.output = written
        } else if self.output.capacity == 0 {
            self.output = context.channel.allocator.buffer(capacity: 16 << 10)
        }
    }

    /// Closes once a close was asked for (or the client's input ended and every request in it was
    /// handled) and nothing is owed any more; what was written goes first. A close the client
    /// caused lingers (see `isDiscardingInput`); shutdown, or input that ended, closes at once.
    private func finishIfDone() {
        guard !self.isClosing, let context = self.context else { return }
        var inputFinished = false
        if self.isInputClosed && self.awaitingBlockingReply {
            // A client that will send nothing more and waits for a message is treated as gone,
            // as Redis does: the message goes to a consumer that is there (the processor gets
            // it back when this connection refuses it).
            self.forgetOwedReplies()
            inputFinished = true
        } else if self.isInputClosed {
            inputFinished = !self.isPaused
        }
        guard self.closeRequested || self.isQuiescing || inputFinished, self.owed.isEmpty else { return }
        self.isClosing = true
        let last = self.output
        self.output.clear()
        self.server.statistics.bytesWritten.add(last.readableBytes, ordering: .relaxed)
        let written = context.writeAndFlush(Self.wrapOutboundOut(last))
        guard !self.isQuiescing && !self.isInputClosed else {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
            return
        }
        self.received = nil
        self.isDiscardingInput = true
        if self.heldRead {
            self.heldRead = false
            context.read()
        }
        let channel = context.channel
        let lingerTime = Self.lingerTime
        written.whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: lingerTime) {
                channel.close(promise: nil)
            }
        }
    }

    // MARK: Idle timeout

    private func scheduleIdleCheck(after delay: TimeAmount) {
        self.idleCheck = self.eventLoop.scheduleTask(in: delay) { [self] in
            self.checkIdle()
        }
    }

    private func checkIdle() {
        guard let timeout = self.server.configuration.idleTimeout, self.isOpen else { return }
        let idleFor = NIODeadline.now() - self.lastActivity
        // Like Redis, a client blocked on a queue is waiting, not idle.
        if idleFor >= timeout && self.owed.isEmpty {
            self.server.logger.debug("closing client \(self.id): idle for \(idleFor.nanoseconds / 1_000_000_000)s")
            self.context?.close(promise: nil)
        } else {
            self.scheduleIdleCheck(after: self.owed.isEmpty ? timeout - idleFor : timeout)
        }
    }
}

/// What a reply owed by the processor stands for: the work of its command, and the most reply
/// data it may bring.
private struct Weight {
    var messages = 0
    var replyBytes = 0

    init() {}

    init(of command: QueueCommand, maximumMessageSize: Int) {
        self.messages = command.messageCount
        let (bytes, overflow) = command.repliedMessagesAtMost.multipliedReportingOverflow(by: max(1, maximumMessageSize))
        // Saturated well below Int.max, so that sums of weights never overflow.
        self.replyBytes = overflow ? 1 << 48 : min(bytes, 1 << 48)
    }

    mutating func add(_ other: Weight) {
        self.messages += other.messages
        self.replyBytes += other.replyBytes
    }

    mutating func subtract(_ other: Weight) {
        self.messages -= other.messages
        self.replyBytes -= other.replyBytes
    }
}

/// Answers a connection over `--max-clients` with the protocol's error, then closes it.
final class RefusingHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reply: StaticString

    init(reply: StaticString) {
        self.reply = reply
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: self.reply.utf8CodeUnitCount)
        buffer.writeStaticString(self.reply)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
