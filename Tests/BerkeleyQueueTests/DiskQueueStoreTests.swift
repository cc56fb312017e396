import Logging
import NIOCore
import QueueCore
import Testing

@testable import BerkeleyQueue

/// The store's index bookkeeping: pops from the head leave their index entries for the sweep.
@Suite struct DiskQueueStoreTests {
    private static func openStore(_ directory: String) throws -> DiskQueueStore {
        try DiskQueueStore(
            directory: directory,
            settings: .init(allowsDuplicates: false, maximumQueues: nil, environment: .forTests),
            logger: Logger(label: "test")
        )
    }

    /// A store in a fresh directory, closed when `body` returns.
    private static func withStore(_ body: (DiskQueueStore) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let store = try Self.openStore(directory)
            defer { try? store.close() }
            try body(store)
        }
    }

    private static func run(_ command: QueueCommand, on store: DiskQueueStore) throws -> QueueReply {
        try store.environment.withTransaction { transaction in
            let reply = try store.execute(command, in: transaction)
            try store.writeChanges(in: transaction)
            return reply
        }
    }

    private static func push(_ texts: [String], to queue: String, at end: QueueEnd = .tail) -> QueueCommand {
        .push(queue: ByteBuffer(string: queue), messages: texts.map { Message(bytes: ByteBuffer(string: $0), flags: 0) }, end: end, onlyIfAbsent: false)
    }

    private static func pop(_ count: Int, from queue: String, at end: QueueEnd = .head) throws -> QueueCommand {
        .pop(queue: ByteBuffer(string: queue), end: end, count: count)
    }

    private static func texts(_ reply: QueueReply) -> [String]? {
        guard case .messages(let messages) = reply else { return nil }
        return messages.map { String(buffer: $0.bytes) }
    }

    private static func sweepAll(_ store: DiskQueueStore) throws {
        try store.environment.withTransaction { transaction in
            try store.sweepIndex(visiting: .max, in: transaction)
            try store.writeChanges(in: transaction)
        }
    }

    @Test func poppedMessagesLeaveEntriesThatReadersSkipAndTheSweepDeletes() throws {
        try Self.withStore { store in
            _ = try Self.run(Self.push(["a", "b", "c"], to: "q"), on: store)
            #expect(Self.texts(try Self.run(Self.pop(2, from: "q"), on: store)) == ["a", "b"])
            #expect(try store.recordCounts() == (messages: 1, index: 3))
            #expect(store.unsweptIndexEntries == 2)

            // The stale entries answer nothing (not members, nothing to remove, and a popped
            // message pushed again is queued again), and whoever meets one deletes it.
            guard case .memberships(let members) = try Self.run(.contains(queue: ByteBuffer(string: "q"), members: [ByteBuffer(string: "a"), ByteBuffer(string: "c")]), on: store),
                case .integer(0) = try Self.run(.remove(queue: ByteBuffer(string: "q"), members: [ByteBuffer(string: "b")]), on: store),
                case .pushed(added: 1, length: 2) = try Self.run(Self.push(["a"], to: "q"), on: store)
            else {
                Issue.record("membership, removal or push")
                return
            }
            #expect(members == [false, true])
            #expect(try store.recordCounts() == (messages: 2, index: 2))

            _ = try Self.run(Self.push(["d", "e"], to: "q"), on: store)
            #expect(Self.texts(try Self.run(Self.pop(2, from: "q"), on: store)) == ["c", "a"])
            #expect(try store.recordCounts() == (messages: 2, index: 4))
            try Self.sweepAll(store)
            #expect(try store.recordCounts() == (messages: 2, index: 2))
            #expect(store.unsweptIndexEntries == 0)
            #expect(!store.indexSweepIsDue())

            // A queue that empties is gone, id and all: the sweep deletes what its pops left.
            #expect(Self.texts(try Self.run(Self.pop(5, from: "q"), on: store)) == ["d", "e"])
            #expect(try store.recordCounts() == (messages: 0, index: 2))
            try Self.sweepAll(store)
            #expect(try store.recordCounts() == (messages: 0, index: 0))
        }
    }

    @Test func aMessagePushedToTheHeadAfterPopsIsPoppedWithItsEntry() throws {
        try Self.withStore { store in
            _ = try Self.run(Self.push(["x", "y"], to: "q"), on: store)
            #expect(Self.texts(try Self.run(Self.pop(1, from: "q"), on: store)) == ["x"])
            // Its sequence is below the popped range, which cannot reach down over "y".
            _ = try Self.run(Self.push(["z"], to: "q", at: .head), on: store)
            #expect(Self.texts(try Self.run(Self.pop(1, from: "q"), on: store)) == ["z"])
            #expect(try store.recordCounts() == (messages: 1, index: 2))
            // Popped from the tail: deleted at once too.
            _ = try Self.run(Self.push(["w"], to: "q"), on: store)
            #expect(Self.texts(try Self.run(Self.pop(1, from: "q", at: .tail), on: store)) == ["w"])
            #expect(try store.recordCounts() == (messages: 1, index: 2))
            try Self.sweepAll(store)
            #expect(try store.recordCounts() == (messages: 1, index: 1))
            #expect(Self.texts(try Self.run(Self.pop(5, from: "q"), on: store)) == ["y"])
        }
    }

    @Test func theBacklogAndPoppedRangesSurviveARestart() throws {
        try withTemporaryDirectory { directory in
            do {
                let store = try Self.openStore(directory)
                defer { try? store.close() }
                _ = try Self.run(Self.push((0..<100).map { "m\($0)" }, to: "q"), on: store)
                _ = try Self.run(Self.pop(60, from: "q"), on: store)
                #expect(store.unsweptIndexEntries == 60)
            }
            let store = try Self.openStore(directory)
            defer { try? store.close() }
            #expect(store.unsweptIndexEntries == 60)
            #expect(store.catalog[ByteBuffer(string: "q")]?.poppedSequences?.count == 60)
            try Self.sweepAll(store)
            #expect(try store.recordCounts() == (messages: 40, index: 40))
        }
    }

    @Test func theSweepResumesWhereItStoppedAndKeepsWhatIsQueued() throws {
        try Self.withStore { store in
            _ = try Self.run(Self.push((0..<3000).map { "m\($0)" }, to: "q"), on: store)
            _ = try Self.run(Self.pop(1000, from: "q"), on: store)
            var slices = 0
            repeat {
                try store.environment.withTransaction { transaction in
                    try store.sweepIndex(visiting: 100, in: transaction)
                    try store.writeChanges(in: transaction)
                }
                slices += 1
                if slices == 1 {
                    // A queue the sweep has never heard of: its entries are not stale.
                    _ = try Self.run(Self.push((0..<500).map { "n\($0)" }, to: "new"), on: store)
                }
            } while store.indexSweepIsDue() && slices < 1000
            #expect(slices > 1)
            #expect(!store.indexSweepIsDue())
            #expect(try store.recordCounts() == (messages: 2500, index: 2500))
            guard case .pushed(added: 0, length: 500) = try Self.run(Self.push(["n7"], to: "new"), on: store) else {
                Issue.record("a duplicate push to the new queue")
                return
            }
            guard case .memberships(let members) = try Self.run(.contains(queue: ByteBuffer(string: "q"), members: [ByteBuffer(string: "m999"), ByteBuffer(string: "m1000")]), on: store) else {
                Issue.record("contains")
                return
            }
            #expect(members == [false, true])
        }
    }

    @Test func recordsWrittenBeforePoppedRangesStillLoad() {
        var record = QueueRecord(id: 7)
        record.added = 3
        record.poppedSequences = 5...9
        let full = record.withEncoded { Array($0) }
        #expect(full.count == QueueRecord.encodedSize)
        #expect(full.withUnsafeBytes { QueueRecord($0) } == record)
        let old = Array(full.prefix(40))
        let loaded = old.withUnsafeBytes { QueueRecord($0) }
        #expect(loaded?.added == 3)
        #expect(loaded?.poppedSequences == nil)
        var fresh = QueueRecord(id: 1)
        fresh.added = 1
        #expect(fresh.withEncoded { QueueRecord($0) } == fresh)
    }
}
