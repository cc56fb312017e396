import NIOCore
import QueueCore
import Testing

/// Blocking commands, reservations and list commands of the RAM queue.
@Suite struct RAMQueueWaitingTests {
    private func push(_ processor: RAMQueueProcessor, _ queue: String, _ texts: String..., end: QueueEnd = .tail) {
        _ = processor.run(.push(queue: buffer(queue), messages: texts.map { Message(bytes: buffer($0)) }, end: end, onlyIfAbsent: false))
    }

    @Test func blockedClientsAreServedInTheOrderTheyBlockedOneMessageEach() {
        let processor = RAMQueueProcessor()
        let clients = (0..<5).map { _ in TestClient() }
        for client in clients {
            #expect(processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: nil), for: client) == nil)
        }
        #expect(processor.waitingClients == 5)
        for index in 0..<5 {
            self.push(processor, "q", "m\(index)")
        }
        for (index, client) in clients.enumerated() {
            let replies = client.received()
            #expect(replies.count == 1)
            #expect(replies.first?.poppedText?.message == "m\(index)")
        }
        #expect(processor.waitingClients == 0)
        #expect(processor.run(.length(queue: buffer("q"))).integer == 0)
    }

    @Test func aWaiterOnSeveralQueuesIsServedOnce() {
        let processor = RAMQueueProcessor()
        let client = TestClient()
        #expect(processor.execute(.blockingPop(queues: [buffer("a"), buffer("b")], end: .head, timeout: nil), for: client) == nil)
        self.push(processor, "b", "from-b")
        self.push(processor, "a", "from-a")
        let replies = client.received()
        #expect(replies.count == 1)
        #expect(replies.first?.poppedText?.queue == "b")
        // What arrived in a stays there.
        #expect(processor.run(.pop(queue: buffer("a"), end: .head, count: nil)).message == .some(Message(bytes: buffer("from-a"))))
    }

    @Test func aWaitEndsWithNilAtItsTimeout() {
        let processor = RAMQueueProcessor()
        let client = TestClient()
        #expect(processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: .milliseconds(500)), for: client) == nil)
        client.embeddedLoop.advanceTime(by: .milliseconds(400))
        #expect(client.received().isEmpty)
        client.embeddedLoop.advanceTime(by: .milliseconds(100))
        let replies = client.received()
        #expect(replies.count == 1)
        #expect(replies.first?.messageText == .some(nil))
        // A push after the timeout stays queued.
        self.push(processor, "q", "late")
        #expect(client.received().isEmpty)
        #expect(processor.run(.length(queue: buffer("q"))).integer == 1)
    }

    @Test func aClientGoneBeforeItsMessageArrivedLosesNothing() {
        let processor = RAMQueueProcessor()
        let leaving = TestClient()
        #expect(processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: nil), for: leaving) == nil)
        leaving.isGone = true
        self.push(processor, "q", "precious")
        _ = leaving.received()  // the delivery is refused: the message goes back
        #expect(processor.run(.pop(queue: buffer("q"), end: .head, count: nil)).message == .some(Message(bytes: buffer("precious"))))

        let disconnecting = TestClient()
        _ = processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: nil), for: disconnecting)
        processor.clientDisconnected(disconnecting)
        #expect(processor.waitingClients == 0)
        self.push(processor, "q", "kept")
        #expect(disconnecting.received().isEmpty)
        #expect(processor.run(.length(queue: buffer("q"))).integer == 1)
    }

    @Test func blockingMoveWaitsThenMoves() {
        let processor = RAMQueueProcessor()
        let client = TestClient()
        _ = processor.execute(.blockingMove(source: buffer("in"), destination: buffer("work"), from: .head, to: .tail, timeout: nil), for: client)
        self.push(processor, "in", "job")
        #expect(client.received().first?.messageText == .some("job"))
        #expect(processor.run(.range(queue: buffer("work"), start: 0, stop: -1)).messages == [Message(bytes: buffer("job"))])
        #expect(processor.run(.length(queue: buffer("in"))).integer == 0)
    }

    @Test func reservationsAcknowledgeAbortAndReturnOnDisconnect() {
        let processor = RAMQueueProcessor()
        let client = TestClient()
        self.push(processor, "q", "a", "b")
        #expect(processor.run(.reserve(queue: buffer("q"), waitingAtMost: nil), client: client).messageText == .some("a"))
        #expect(processor.run(.reserve(queue: buffer("q"), waitingAtMost: nil), client: client).failure == .reservationAlreadyOpen)
        #expect(processor.run(.length(queue: buffer("q"))).integer == 1)
        #expect(processor.run(.abort(queue: buffer("q")), client: client).integer == 1)
        #expect(processor.run(.range(queue: buffer("q"), start: 0, stop: -1)).messages?.map { String(buffer: $0.bytes) } == ["a", "b"])
        #expect(processor.run(.reserve(queue: buffer("q"), waitingAtMost: nil), client: client).messageText == .some("a"))
        #expect(processor.run(.acknowledge(queue: buffer("q")), client: client).integer == 1)
        #expect(processor.run(.acknowledge(queue: buffer("q")), client: client).integer == 0)
        #expect(processor.run(.reserve(queue: buffer("q"), waitingAtMost: nil), client: client).messageText == .some("b"))
        processor.clientDisconnected(client)
        #expect(processor.run(.pop(queue: buffer("q"), end: .head, count: nil)).messageText == .some("b"))
    }

    @Test func aStaleReservationReturnsAfterTheReserveTimeout() {
        let processor = RAMQueueProcessor(configuration: .init(reservationTimeout: .seconds(2)))
        let client = TestClient()
        self.push(processor, "q", "a")
        #expect(processor.run(.reserve(queue: buffer("q"), waitingAtMost: nil), client: client).messageText == .some("a"))
        client.embeddedLoop.advanceTime(by: .seconds(1))
        #expect(processor.run(.length(queue: buffer("q"))).integer == 0)
        client.embeddedLoop.advanceTime(by: .seconds(1))
        #expect(processor.run(.length(queue: buffer("q"))).integer == 1)
        #expect(processor.run(.acknowledge(queue: buffer("q")), client: client).integer == 0)
    }

    @Test func peekLeavesTheMessageAndWaitsWhenAsked() {
        let processor = RAMQueueProcessor()
        let peeker = TestClient()
        let waiter = TestClient()
        _ = processor.execute(.peek(queue: buffer("q"), waitingAtMost: .seconds(5)), for: peeker)
        _ = processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: nil), for: waiter)
        self.push(processor, "q", "x")
        #expect(peeker.received().first?.messageText == .some("x"))
        #expect(waiter.received().first?.poppedText?.message == "x")
    }

    @Test func listPositionsAndCountedRemoval() {
        let processor = RAMQueueProcessor(configuration: .init(allowsDuplicates: true))
        self.push(processor, "l", "a", "b", "a", "c", "a")
        #expect(processor.run(.range(queue: buffer("l"), start: 1, stop: -2)).messages?.map { String(buffer: $0.bytes) } == ["b", "a", "c"])
        #expect(processor.run(.range(queue: buffer("l"), start: 5, stop: 10)).messages == [])
        #expect(processor.run(.element(queue: buffer("l"), index: -2)).messageText == .some("c"))
        #expect(processor.run(.element(queue: buffer("l"), index: 9)).messageText == .some(nil))
        #expect(processor.run(.removeOccurrences(queue: buffer("l"), member: buffer("a"), count: -1)).integer == 1)
        #expect(processor.run(.range(queue: buffer("l"), start: 0, stop: -1)).messages?.map { String(buffer: $0.bytes) } == ["a", "b", "a", "c"])
        #expect(processor.run(.removeOccurrences(queue: buffer("l"), member: buffer("a"), count: 1)).integer == 1)
        #expect(processor.run(.range(queue: buffer("l"), start: 0, stop: -1)).messages?.map { String(buffer: $0.bytes) } == ["b", "a", "c"])
        #expect(processor.run(.removeOccurrences(queue: buffer("l"), member: buffer("zz"), count: 0)).integer == 0)
        // LREM's count is any 64-bit integer; -2^63 has no positive twin.
        #expect(processor.run(.removeOccurrences(queue: buffer("l"), member: buffer("zz"), count: .min)).integer == 0)
        #expect(processor.run(.move(source: buffer("l"), destination: buffer("l"), from: .tail, to: .head)).messageText == .some("c"))
        #expect(processor.run(.range(queue: buffer("l"), start: 0, stop: -1)).messages?.map { String(buffer: $0.bytes) } == ["c", "b", "a"])
    }
}
