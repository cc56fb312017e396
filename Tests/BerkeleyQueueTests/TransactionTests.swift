import BerkeleyQueue
import Foundation
import Testing

@Suite struct TransactionTests {
    /// Runs `body` with an open environment (logging into `recorder`) and one B-Tree database.
    private func withDatabase(
        recorder: LogRecorder = LogRecorder(),
        configuration: EnvironmentConfiguration = .forTests,
        _ body: (Environment, Database) throws -> Void
    ) throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: configuration, logger: recorder.logger)
            defer { try? environment.close() }
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try body(environment, database)
            try database.close()
            try environment.close()
        }
    }

    @Test func abortRollsBackPutsAndDeletes() throws {
        try withDatabase { environment, database in
            try environment.withTransaction { transaction in
                try database.put(bytes("original"), forKey: bigEndianKey(1), in: transaction)
            }
            let transaction = try environment.beginTransaction()
            try database.put(bytes("changed"), forKey: bigEndianKey(1), in: transaction)
            try database.put(bytes("added"), forKey: bigEndianKey(2), in: transaction)
            #expect(try database.value(forKey: bigEndianKey(2), in: transaction) == bytes("added"))
            try transaction.abort()
            #expect(!transaction.isActive)

            let deleting = try environment.beginTransaction()
            #expect(try database.delete(forKey: bigEndianKey(1), in: deleting))
            try deleting.abort()

            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == bytes("original"))
                #expect(try database.value(forKey: bigEndianKey(2), in: transaction) == nil)
            }
        }
    }

    @Test func withTransactionCommitsOnReturnAndAbortsOnThrow() throws {
        struct Refused: Error {}
        try withDatabase { environment, database in
            #expect(throws: Refused.self) {
                try environment.withTransaction { transaction in
                    try database.put(bytes("lost"), forKey: bigEndianKey(1), in: transaction)
                    throw Refused()
                }
            }
            #expect(environment.liveTransactionCount == 0)
            let stored = try environment.withTransaction { transaction in
                try database.put(bytes("kept"), forKey: bigEndianKey(2), in: transaction)
            }
            #expect(stored)
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == nil)
                #expect(try database.value(forKey: bigEndianKey(2), in: transaction) == bytes("kept"))
            }
        }
    }

    @Test func aResolvedTransactionRefusesFurtherUse() throws {
        try withDatabase { environment, database in
            let transaction = try environment.beginTransaction()
            try transaction.commit()
            #expect(throws: BerkeleyDBError.self) { try transaction.commit() }
            #expect(throws: BerkeleyDBError.self) { try transaction.abort() }
            let error = try #require(throws: BerkeleyDBError.self) {
                try database.value(forKey: bigEndianKey(1), in: transaction)
            }
            #expect(error.isMisuse)
            #expect(throws: BerkeleyDBError.self) { try transaction.withCursor(on: database) { _ in } }
        }
    }

    @Test func aReleasedTransactionIsAbortedAndLogged() throws {
        let recorder = LogRecorder()
        try withDatabase(recorder: recorder) { environment, database in
            func writeAndForget() throws {
                let transaction = try environment.beginTransaction()
                try database.put(bytes("forgotten"), forKey: bigEndianKey(1), in: transaction)
            }
            try writeAndForget()
            #expect(environment.liveTransactionCount == 0)
            #expect(recorder.entries.contains { $0.level == .error && $0.message.contains("without commit or abort") })
            // Its lock is gone (a NOWAIT write would fail on it) and its write undone.
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == nil)
                try database.put(bytes("mine"), forKey: bigEndianKey(1), in: transaction)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLockConflictFailsAtOnceInsteadOfBlockingTheThread() throws {
        try withDatabase { environment, database in
            let holder = try environment.beginTransaction()
            try database.put(bytes("held"), forKey: bigEndianKey(1), in: holder)
            let other = try environment.beginTransaction()
            // Same thread, second transaction, same page: waiting would never end.
            let error = try #require(throws: BerkeleyDBError.self) {
                try database.put(bytes("blocked"), forKey: bigEndianKey(1), in: other)
            }
            #expect(error.isDeadlock)
            #expect(error.message == BerkeleyDBError.text(for: error.code))
            try other.abort()
            try holder.commit()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func openingADatabaseAgainstALiveTransactionsLockFailsAtOnce() throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            let creating = try environment.beginTransaction()
            // Creating a subdatabase write-locks the file's list of subdatabases until commit.
            let first = try environment.openDatabase(file: "queues.db", name: "first", in: creating)
            let error = try #require(throws: BerkeleyDBError.self) {
                try environment.openDatabase(file: "queues.db", name: "second")
            }
            #expect(error.isDeadlock)
            try creating.commit()
            let second = try environment.openDatabase(file: "queues.db", name: "second")
            try first.close()
            try second.close()
            try environment.close()
        }
    }

    @Test func aTransactionOfThousandsOfOperationsDoesNotRunOutOfLocks() throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            let messages = try environment.openDatabase(file: "queues.db", name: "messages")
            let members = try environment.openDatabase(
                file: "queues.db", name: "members",
                configuration: .init(accessMethod: .hash, allowsSortedDuplicates: true))
            let value = [UInt8](repeating: 0x5A, count: 100)
            let count: UInt64 = 20_000
            try environment.withTransaction { transaction in
                for sequence in 0..<count {
                    let key = queueKey(queue: sequence % 1000, sequence: sequence)
                    try messages.put(value, forKey: key, in: transaction)
                    try members.put(key, forKey: bigEndianKey(sequence % 1000), in: transaction)
                }
            }
            try environment.withTransaction { transaction throws in
                try transaction.withCursor(on: members) { cursor throws in
                    #expect(try cursor.seek(toKey: bigEndianKey(999)) { _, _ in true } == true)
                    #expect(try cursor.duplicateCount() == Int(count / 1000))
                }
                #expect(try messages.truncate(in: transaction) == Int(count))
            }
            try messages.close()
            try members.close()
            try environment.close()
        }
    }

    @Test func committingInsideWithCursorClosesTheCursorFirst() throws {
        let recorder = LogRecorder()
        try withDatabase(recorder: recorder) { environment, database in
            try environment.withTransaction { transaction in
                try database.put(bytes("a"), forKey: bigEndianKey(1), in: transaction)
                try database.put(bytes("b"), forKey: bigEndianKey(2), in: transaction)
            }
            let transaction = try environment.beginTransaction()
            try transaction.withCursor(on: database) { cursor throws in
                #expect(try cursor.first { key, _ in bigEndianValue(key) } == 1)
                #expect(try cursor.deleteCurrent())
                try transaction.commit()
                let error = try #require(throws: BerkeleyDBError.self) { try cursor.next { _, _ in true } }
                #expect(error.isMisuse)
            }
            #expect(recorder.entries.contains { $0.level == .error && $0.message.contains("cursor") })
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == nil)
                #expect(try database.value(forKey: bigEndianKey(2), in: transaction) == bytes("b"))
            }
        }
    }

    @Test func cursorsNestAndEachClosesWithItsClosure() throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            let first = try environment.openDatabase(file: "queues.db", name: "first")
            let second = try environment.openDatabase(file: "queues.db", name: "second")
            try environment.withTransaction { transaction throws in
                try first.put(bytes("1"), forKey: bigEndianKey(1), in: transaction)
                try second.put(bytes("2"), forKey: bigEndianKey(2), in: transaction)
                try transaction.withCursor(on: first) { outer throws in
                    #expect(try outer.first { key, _ in bigEndianValue(key) } == 1)
                    try transaction.withCursor(on: second) { inner throws in
                        #expect(try inner.first { key, _ in bigEndianValue(key) } == 2)
                    }
                    // The outer cursor is still open and still positioned.
                    #expect(try outer.current { _, value in Array(value) } == bytes("1"))
                }
            }
            // Closing the databases would be refused if a cursor (and so a transaction) were left open.
            try first.close()
            try second.close()
            try environment.close()
        }
    }

    @Test func aDatabaseDoesNotCloseUnderALiveTransaction() throws {
        try withDatabase { environment, database in
            let transaction = try environment.beginTransaction()
            try database.put(bytes("x"), forKey: bigEndianKey(1), in: transaction)
            let error = try #require(throws: BerkeleyDBError.self) { try database.close() }
            #expect(error.isMisuse)
            #expect(database.isOpen)
            try transaction.commit()
        }
    }

    @Test func aDatabaseReleasedUnderALiveTransactionClosesAfterIt() throws {
        let recorder = LogRecorder()
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests, logger: recorder.logger)
            let transaction = try environment.beginTransaction()
            do {
                let database = try environment.openDatabase(file: "queues.db", name: "messages")
                try database.put(bytes("written through a released handle"), forKey: bigEndianKey(1), in: transaction)
            }
            // The handle the write went through is released; its close waits for the commit.
            #expect(recorder.entries.contains { $0.level == .debug && $0.message.contains("closing it after them") })
            try transaction.commit()
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == bytes("written through a released handle"))
            }
            try database.close()
            try environment.close()
        }
    }

    @Test func aTransactionWorksOnlyInItsOwnEnvironment() throws {
        try withTemporaryDirectory { first in
            try withTemporaryDirectory { second in
                let environment = try Environment(directory: first, configuration: .forTests)
                let other = try Environment(directory: second, configuration: .forTests)
                let database = try environment.openDatabase(file: "queues.db")
                let foreign = try other.beginTransaction()
                let error = try #require(throws: BerkeleyDBError.self) {
                    try database.put(bytes("x"), forKey: bigEndianKey(1), in: foreign)
                }
                #expect(error.isMisuse)
                try foreign.abort()
                try database.close()
                try environment.close()
                try other.close()
            }
        }
    }

    @Test func anExistingSortedDuplicateIsRefusedWithoutComplaint() throws {
        let recorder = LogRecorder()
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests, logger: recorder.logger)
            let members = try environment.openDatabase(
                file: "members.db", configuration: .init(accessMethod: .hash, allowsSortedDuplicates: true))
            try environment.withTransaction { transaction throws in
                #expect(try members.put(bytes("m"), forKey: bytes("q"), in: transaction))
                #expect(try members.put(bytes("m"), forKey: bytes("q"), in: transaction) == false)
            }
            #expect(recorder.entries.isEmpty)
            try members.close()
            try environment.close()
        }
    }
}
