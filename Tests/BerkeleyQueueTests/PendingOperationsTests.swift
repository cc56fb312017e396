import NIOCore
import NIOEmbedded
import QueueCore
import Testing

@testable import BerkeleyQueue

/// The database thread's intake: rounds are bounded by their messages of work, oldest first.
@Suite struct PendingOperationsTests {
    @Test func aRoundTakesTheOldestWorkUpToItsBudgetAndLeavesTheRestReady() {
        let pending = PendingOperations()
        let client = IdleClient()
        for size in [600, 600, 1, 600, 5] {
            #expect(pending.append(Self.push(size, for: client)))
        }
        var drained: [PendingOperations.Operation] = []
        // 600 + 600 reaches the budget of 1,000: the round ends there.
        let first = pending.take(upToMessages: 1000, waitingAtMost: 0, reusing: &drained)
        #expect(first.operations.map(\.messageCount) == [600, 600])
        // What is left stays ready: the next round starts without waiting.
        #expect(pending.hasWork)
        let second = pending.take(upToMessages: 1000, waitingAtMost: 0, reusing: &drained)
        #expect(second.operations.map(\.messageCount) == [1, 600, 5])
        #expect(!second.isStopping)
        #expect(!pending.hasWork)
    }

    @Test func aSingleCommandBiggerThanTheBudgetIsTakenAlone() {
        let pending = PendingOperations()
        let client = IdleClient()
        _ = pending.append(Self.push(50, for: client))
        _ = pending.append(.init(work: .command(.pop(queue: ByteBuffer(string: "q"), end: .head, count: nil)), client: client))
        var drained: [PendingOperations.Operation] = []
        #expect(pending.take(upToMessages: 10, waitingAtMost: 0, reusing: &drained).operations.map(\.messageCount) == [50])
        #expect(pending.take(upToMessages: 10, waitingAtMost: 0, reusing: &drained).operations.map(\.messageCount) == [1])
        #expect(pending.take(upToMessages: 10, waitingAtMost: 0, reusing: &drained).operations.isEmpty)
    }

    /// A push of `count` distinct messages onto `q`.
    private static func push(_ count: Int, for client: any QueueClient) -> PendingOperations.Operation {
        let messages = (0..<count).map { Message(bytes: ByteBuffer(string: "\($0)")) }
        return .init(work: .command(.push(queue: ByteBuffer(string: "q"), messages: messages, end: .tail, onlyIfAbsent: false)), client: client)
    }
}

/// A client nothing is ever delivered to.
private final class IdleClient: QueueClient, Sendable {
    let eventLoop: any EventLoop = EmbeddedEventLoop()
    func deliver(_ replies: [QueueReply]) -> Bool { true }
}

extension PendingOperationsTests {
    /// `SPOP q 9223372036854775807` weighs as heavy work, yet a million such weights still add up
    /// without overflowing (the database thread sums them to size its transactions).
    @Test func aHugePopCountWeighsLittleEnoughToAddUp() {
        let pop = QueueCommand.pop(queue: ByteBuffer(string: "q"), end: .head, count: .max)
        #expect(pop.messageCount >= 1 << 32)
        #expect(!pop.messageCount.multipliedReportingOverflow(by: 1 << 20).overflow)
    }
}
