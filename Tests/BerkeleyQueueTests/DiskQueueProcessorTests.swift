import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import QueueCore
import Testing

@testable import BerkeleyQueue

/// A client that awaits what the disk queue delivers from its database thread.
private final class AwaitingClient: QueueClient, Sendable {
    let loop = NIOAsyncTestingEventLoop()
    private let state = NIOLockedValueBox<(replies: [QueueReply], waiters: [CheckedContinuation<QueueReply, Never>])>(([], []))

    var eventLoop: any EventLoop { self.loop }

    func deliver(_ replies: [QueueReply]) -> Bool {
        for reply in replies {
            let waiter = self.state.withLockedValue { state -> CheckedContinuation<QueueReply, Never>? in
                if state.waiters.isEmpty {
                    state.replies.append(reply)
                    return nil
                }
                return state.waiters.removeFirst()
            }
            waiter?.resume(returning: reply)
        }
        return true
    }

    func nextReply() async -> QueueReply {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLockedValue { state -> QueueReply? in
                if state.replies.isEmpty {
                    state.waiters.append(continuation)
                    return nil
                }
                return state.replies.removeFirst()
            }
            if let ready {
                continuation.resume(returning: ready)
            }
        }
    }

    func run(_ command: QueueCommand, on processor: DiskQueueProcessor) async -> QueueReply {
        if let reply = processor.execute(command, for: self) {
            return reply
        }
        return await self.nextReply()
    }
}

/// A client whose connection is gone by the time its replies come: it refuses them, the first
/// after `delay` (as a busy event loop would take a while to get to it).
private final class GoneClient: QueueClient, Sendable {
    let loop = NIOAsyncTestingEventLoop()
    private let delay: Duration
    private let refused = NIOLockedValueBox(0)

    init(refusingAfter delay: Duration = .zero) {
        self.delay = delay
    }

    var eventLoop: any EventLoop { self.loop }

    func deliver(_ replies: [QueueReply]) -> Bool {
        if self.refused.withLockedValue({ $0 }) == 0 && self.delay > .zero {
            Thread.sleep(forTimeInterval: Double(self.delay.components.attoseconds) / 1e18 + Double(self.delay.components.seconds))
        }
        self.refused.withLockedValue { $0 += replies.count }
        return false
    }

    var refusedReplies: Int { self.refused.withLockedValue { $0 } }

    /// Waits until `count` replies were refused and what their refusal gave back is queued.
    func awaitRefusals(_ count: Int) async throws {
        for _ in 0..<1000 where self.refusedReplies < count {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(self.refusedReplies == count)
        // Deliveries run on this loop, in order: once this runs, the last one has settled.
        try await self.loop.executeInContext {}
    }
}

private func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
private func message(_ text: String, flags: UInt32 = 0) -> Message { Message(bytes: buffer(text), flags: flags) }

private func push(_ texts: [String], to queue: String, flags: UInt32 = 0, end: QueueEnd = .tail) -> QueueCommand {
    .push(queue: buffer(queue), messages: texts.map { message($0, flags: flags) }, end: end, onlyIfAbsent: false)
}

private func temporaryDirectory() -> String {
    NSTemporaryDirectory() + "diskqueue-processor-\(UUID().uuidString)"
}

@Suite struct DiskQueueProcessorTests {
    private func withProcessor<Result>(
        directory: String? = nil,
        allowsDuplicates: Bool = false,
        maximumQueues: Int? = nil,
        _ body: (DiskQueueProcessor, AwaitingClient) async throws -> Result
    ) async throws -> Result {
        let directory = directory ?? temporaryDirectory()
        let processor = try DiskQueueProcessor(
            configuration: .init(directory: directory, allowsDuplicates: allowsDuplicates, maximumQueues: maximumQueues, cacheSize: 16 << 20),
            logger: Logger(label: "test")
        )
        let client = AwaitingClient()
        do {
            let result = try await body(processor, client)
            try await processor.shutdown()
            return result
        } catch {
            try await processor.shutdown()
            throw error
        }
    }

    @Test func pushesAndPopsInOrderWithFlags() async throws {
        try await self.withProcessor { processor, client in
            guard case .pushed(2, 2) = await client.run(push(["a", "b"], to: "q", flags: 7), on: processor) else {
                Issue.record("push")
                return
            }
            guard case .pushed(1, 3) = await client.run(push(["c"], to: "q"), on: processor) else {
                Issue.record("push")
                return
            }
            guard case .message(let first) = await client.run(.pop(queue: buffer("q"), end: .head, count: nil), on: processor) else {
                Issue.record("pop")
                return
            }
            #expect(first == message("a", flags: 7))
            guard case .messages(let rest) = await client.run(.pop(queue: buffer("q"), end: .head, count: 10), on: processor) else {
                Issue.record("pop count")
                return
            }
            #expect(rest == [message("b", flags: 7), message("c")])
            guard case .integer(0) = await client.run(.queueCount, on: processor) else {
                Issue.record("an emptied queue is gone")
                return
            }
        }
    }

    @Test func uniqueByDefaultAndDuplicatesWhenAllowed() async throws {
        try await self.withProcessor { processor, client in
            guard case .pushed(2, 2) = await client.run(push(["a", "b", "a"], to: "q"), on: processor),
                case .pushed(0, 2) = await client.run(push(["b"], to: "q"), on: processor)
            else {
                Issue.record("a unique queue skips equal messages")
                return
            }
        }
        try await self.withProcessor(allowsDuplicates: true) { processor, client in
            guard case .pushed(3, 3) = await client.run(push(["a", "b", "a"], to: "q"), on: processor),
                case .pushed(0, 3) = await client.run(.push(queue: buffer("q"), messages: [message("a")], end: .tail, onlyIfAbsent: true), on: processor),
                case .integer(2) = await client.run(.remove(queue: buffer("q"), members: [buffer("a")]), on: processor),
                case .messages(let left) = await client.run(.pop(queue: buffer("q"), end: .head, count: 10), on: processor)
            else {
                Issue.record("duplicates")
                return
            }
            #expect(left == [message("b")])
        }
    }

    @Test func removesMembersWherevertheyStandAndFindsThem() async throws {
        try await self.withProcessor { processor, client in
            _ = await client.run(push((0..<100).map { "m\($0)" }, to: "q"), on: processor)
            guard case .integer(2) = await client.run(.remove(queue: buffer("q"), members: [buffer("m50"), buffer("m99"), buffer("zz")]), on: processor),
                case .memberships(let found) = await client.run(.contains(queue: buffer("q"), members: [buffer("m49"), buffer("m50")]), on: processor),
                case .messages(let all) = await client.run(.pop(queue: buffer("q"), end: .head, count: 1000), on: processor)
            else {
                Issue.record("remove")
                return
            }
            #expect(found == [true, false])
            #expect(all.map { String(buffer: $0.bytes) } == (0..<100).filter { $0 != 50 && $0 != 99 }.map { "m\($0)" })
        }
    }

    @Test func headAndTailEnds() async throws {
        try await self.withProcessor { processor, client in
            _ = await client.run(push(["b", "c"], to: "q"), on: processor)
            _ = await client.run(push(["a"], to: "q", end: .head), on: processor)
            guard case .message(let last) = await client.run(.pop(queue: buffer("q"), end: .tail, count: nil), on: processor),
                case .messages(let rest) = await client.run(.pop(queue: buffer("q"), end: .head, count: 5), on: processor)
            else {
                Issue.record("ends")
                return
            }
            #expect(last == message("c"))
            #expect(rest == [message("a"), message("b")])
        }
    }

    @Test func survivesARestartInOrder() async throws {
        let directory = temporaryDirectory()
        let messages = (0..<2000).map { message("message-\($0)", flags: UInt32($0 % 5)) }
        try await self.withProcessor(directory: directory) { processor, client in
            for chunk in stride(from: 0, to: messages.count, by: 100) {
                let slice = Array(messages[chunk..<(chunk + 100)])
                _ = await client.run(.push(queue: buffer("q"), messages: slice, end: .tail, onlyIfAbsent: false), on: processor)
            }
            _ = await client.run(push(["x"], to: "other"), on: processor)
        }
        try await self.withProcessor(directory: directory) { processor, client in
            #expect(processor.queueCount == 2)
            guard case .messages(let popped) = await client.run(.pop(queue: buffer("q"), end: .head, count: 5000), on: processor) else {
                Issue.record("pop")
                return
            }
            #expect(popped == messages)
            // Sequences are never reused: a push after a restart still goes to the tail.
            _ = await client.run(push(["y"], to: "other"), on: processor)
            guard case .messages(let other) = await client.run(.pop(queue: buffer("other"), end: .head, count: 5), on: processor) else {
                Issue.record("pop other")
                return
            }
            #expect(other == [message("x"), message("y")])
        }
    }

    @Test func theIndexEntriesPopsLeaveAreSweptBetweenCommands() async throws {
        let directory = temporaryDirectory()
        try await self.withProcessor(directory: directory) { processor, client in
            for chunk in 0..<24 {
                _ = await client.run(push((0..<500).map { "m-\(chunk)-\($0)" }, to: "q"), on: processor)
            }
            for _ in 0..<24 {
                _ = await client.run(.pop(queue: buffer("q"), end: .head, count: 500), on: processor)
            }
            // Each round of the database thread sweeps a slice once the backlog reaches 10,000;
            // a sweep of some 12,000 entries takes a few slices.
            for round in 0..<20 {
                _ = await client.run(push(["other-\(round)"], to: "other"), on: processor)
            }
        }
        let store = try DiskQueueStore(
            directory: directory,
            settings: .init(allowsDuplicates: false, maximumQueues: nil, environment: EnvironmentConfiguration()),
            logger: Logger(label: "test")
        )
        defer { try? store.close() }
        // Pops after the sweep began may have left entries it had passed: fewer than a sweep's worth.
        let counts = try store.recordCounts()
        #expect(counts.messages == 20)
        #expect(counts.index < 12_000 + 20)
        #expect(counts.index - counts.messages <= store.unsweptIndexEntries)
        #expect(store.unsweptIndexEntries < DiskQueueStore.minimumSweepBacklog)
    }

    @Test func deletedQueuesVanishAtOnceAndArePurgedBehindTheScenes() async throws {
        let directory = temporaryDirectory()
        try await self.withProcessor(directory: directory) { processor, client in
            for chunk in 0..<20 {
                _ = await client.run(push((0..<500).map { "big-\(chunk)-\($0)" }, to: "big"), on: processor)
            }
            guard case .integer(1) = await client.run(.delete(queues: [buffer("big"), buffer("none")]), on: processor),
                case .integer(0) = await client.run(.length(queue: buffer("big")), on: processor),
                case .pushed(1, 1) = await client.run(push(["big-0-0"], to: "big"), on: processor)
            else {
                Issue.record("delete")
                return
            }
            // A new queue of the same name holds only what was pushed since.
            guard case .messages(let fresh) = await client.run(.pop(queue: buffer("big"), end: .head, count: 10), on: processor) else {
                Issue.record("pop")
                return
            }
            #expect(fresh == [message("big-0-0")])
        }
        // The purge finishes (resuming on the next start if the server stopped first) and leaves
        // no record of the deleted queue behind.
        let store = try DiskQueueStore(
            directory: directory,
            settings: .init(allowsDuplicates: false, maximumQueues: nil, environment: EnvironmentConfiguration()),
            logger: Logger(label: "test")
        )
        defer { try? store.close() }
        try store.environment.withTransaction { transaction in
            while try store.purgeDoomedQueue(limit: 1000, in: transaction) {}
            // The new queue's pop left its entry behind; the queue emptied, so it is stale.
            try store.sweepIndex(visiting: .max, in: transaction)
            try store.writeChanges(in: transaction)
        }
        #expect(store.doomedQueues.isEmpty)
        #expect(store.catalog.isEmpty)
        let counts = try store.recordCounts()
        #expect(counts.messages == 0)
        #expect(counts.index == 0)
    }

    @Test func hostileNamesAreOnlyKeys() async throws {
        let directory = temporaryDirectory()
        let names = ["../x", "/etc/passwd", "a\0b", String(repeating: "n", count: 10_000), "名前", ".", "..", ""]
        try await self.withProcessor(directory: directory) { processor, client in
            for name in names {
                _ = await client.run(push([name], to: name), on: processor)
            }
            guard case .names(let listed) = await client.run(.names(matching: nil), on: processor) else {
                Issue.record("names")
                return
            }
            #expect(Set(listed.map { String(buffer: $0) }) == Set(names))
            for name in names {
                guard case .message(let popped) = await client.run(.pop(queue: buffer(name), end: .head, count: nil), on: processor) else {
                    Issue.record("pop \(name)")
                    return
                }
                #expect(popped == message(name))
            }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files.allSatisfy { $0 == "LOCK" || $0 == "queues.db" || $0.hasPrefix("log.") || $0.hasPrefix("__db.") })
    }

    @Test func queueLimit() async throws {
        try await self.withProcessor(maximumQueues: 2) { processor, client in
            _ = await client.run(push(["x"], to: "a"), on: processor)
            _ = await client.run(push(["x"], to: "b"), on: processor)
            guard case .failure(.tooManyQueues) = await client.run(push(["x"], to: "c"), on: processor),
                case .pushed(1, 2) = await client.run(push(["y"], to: "a"), on: processor)
            else {
                Issue.record("queue limit")
                return
            }
        }
    }

    @Test func aSecondServerCannotOpenTheSameDirectory() async throws {
        let directory = temporaryDirectory()
        _ = try await self.withProcessor(directory: directory) { _, _ in
            #expect(throws: DiskQueueError.self) {
                _ = try DiskQueueProcessor(configuration: .init(directory: directory), logger: Logger(label: "test"))
            }
        }
    }

    @Test func thousandsOfQueuesShareOneFile() async throws {
        let directory = temporaryDirectory()
        // Descriptors open on files of this data directory (other tests run meanwhile).
        let openFiles = {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
                return target?.hasPrefix(directory) ?? false
            }.count
        }
        try await self.withProcessor(directory: directory) { processor, client in
            let before = try openFiles()
            for index in 0..<10_000 {
                _ = processor.execute(push(["m"], to: "queue-\(index)"), for: client)
            }
            for _ in 0..<10_000 {
                _ = await client.nextReply()
            }
            #expect(processor.queueCount == 10_000)
            #expect(try openFiles() <= before + 2)
        }
    }

    @Test func aBlockedPopIsServedByALaterPush() async throws {
        try await self.withProcessor { processor, client in
            let producer = AwaitingClient()
            #expect(processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: nil), for: client) == nil)
            _ = await producer.run(push(["hello"], to: "q"), on: processor)
            guard case .popped(let queue, let popped) = await client.nextReply() else {
                Issue.record("the waiter got no message")
                return
            }
            #expect(queue == buffer("q"))
            #expect(popped == message("hello"))
            #expect(processor.waitingClients == 0)
        }
    }

    @Test func messagesPoppedForAClientThatIsGoneGoBackWhereTheyCameFrom() async throws {
        try await self.withProcessor { processor, client in
            let all = ["a", "b", "c", "d", "e", "f"]
            _ = await client.run(push(all, to: "q"), on: processor)
            let q = buffer("q")
            for command: QueueCommand in [
                .pop(queue: q, end: .head, count: 2), .pop(queue: q, end: .tail, count: 2),
                .pop(queue: q, end: .head, count: nil), .blockingPop(queues: [q], end: .tail, timeout: nil),
            ] {
                let gone = GoneClient()
                #expect(processor.execute(command, for: gone) == nil)
                try await gone.awaitRefusals(1)
                guard case .messages(let left) = await client.run(.range(queue: q, start: 0, stop: -1), on: processor) else {
                    Issue.record("range")
                    return
                }
                #expect(left == all.map { message($0) }, "after \(command)")
            }
        }
    }

    @Test func aStopWaitsForRepliesOnTheirWaySoAMessageRefusedDuringShutdownStays() async throws {
        let directory = temporaryDirectory()
        try await self.withProcessor(directory: directory) { processor, client in
            // A blocked client, closed by the shutdown that is about to start: the message a push
            // hands it comes back only after the database thread was told to stop.
            let closing = GoneClient(refusingAfter: .milliseconds(300))
            #expect(processor.execute(.blockingPop(queues: [buffer("q")], end: .head, timeout: nil), for: closing) == nil)
            _ = await client.run(push(["handed over"], to: "q"), on: processor)
        }
        try await self.withProcessor(directory: directory) { processor, client in
            guard case .message(let popped) = await client.run(.pop(queue: buffer("q"), end: .head, count: nil), on: processor) else {
                Issue.record("pop")
                return
            }
            #expect(popped == message("handed over"))
        }
    }

    @Test func anUnacknowledgedReservationIsBackAtTheHeadAfterARestart() async throws {
        let directory = temporaryDirectory()
        try await self.withProcessor(directory: directory) { processor, client in
            let other = AwaitingClient()
            _ = await client.run(push(["first", "second", "third"], to: "q"), on: processor)
            guard case .message(let reserved) = await client.run(.reserve(queue: buffer("q"), waitingAtMost: nil), on: processor),
                case .message(let acknowledged) = await other.run(.reserve(queue: buffer("q"), waitingAtMost: nil), on: processor),
                case .integer(1) = await other.run(.acknowledge(queue: buffer("q")), on: processor)
            else {
                Issue.record("reserve")
                return
            }
            #expect(reserved == message("first"))
            #expect(acknowledged == message("second"))
            // The first client never acknowledges before the server stops.
        }
        try await self.withProcessor(directory: directory) { processor, client in
            guard case .messages(let left) = await client.run(.pop(queue: buffer("q"), end: .head, count: 10), on: processor) else {
                Issue.record("pop")
                return
            }
            // The unacknowledged reservation came back to the head; the acknowledged one is gone.
            #expect(left == [message("first"), message("third")])
        }
    }

    @Test func checkpointsGrowApartWithTheDatabaseFile() {
        let minimum = UInt32(64 << 10)
        #expect(DiskQueueProcessor.checkpointLogKilobytes(databaseFileBytes: 0) == minimum)
        #expect(DiskQueueProcessor.checkpointLogKilobytes(databaseFileBytes: 200 << 20) == minimum)
        // A 10M-message queue: about 1.2 GB of file, a checkpoint every 300 MiB of log.
        #expect(DiskQueueProcessor.checkpointLogKilobytes(databaseFileBytes: 1200 << 20) == 300 << 10)
        #expect(DiskQueueProcessor.checkpointLogKilobytes(databaseFileBytes: Int.max) == UInt32.max)
    }
}
