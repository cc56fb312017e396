import BerkeleyQueue
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct EnvironmentTests {
    @Test func recordsPersistAcrossCloseAndReopen() throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try Environment(directory: directory, configuration: .forTests)
                let database = try environment.openDatabase(file: "queues.db", name: "messages")
                try environment.withTransaction { transaction throws in
                    try database.put(bytes("hello"), forKey: bigEndianKey(1), in: transaction)
                    try database.put(bytes("world"), forKey: bigEndianKey(2), in: transaction)
                }
                try database.close()
                try environment.close()
                #expect(!environment.isOpen)
                #expect(!database.isOpen)
            }
            let environment = try Environment(directory: directory, configuration: .forTests)
            let database = try environment.openDatabase(
                file: "queues.db", name: "messages", configuration: .init(createsIfMissing: false))
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == bytes("hello"))
                #expect(try database.value(forKey: bigEndianKey(2), in: transaction) == bytes("world"))
                #expect(try database.value(forKey: bigEndianKey(3), in: transaction) == nil)
            }
            try database.close()
            try environment.close()
        }
    }

    @Test func createsAMissingDirectoryWithItsParents() throws {
        try withTemporaryDirectory { directory in
            let nested = directory + "/a/b/data"
            let environment = try Environment(directory: nested, configuration: .forTests)
            try environment.close()
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory) && isDirectory.boolValue)
        }
    }

    @Test func aFileInPlaceOfTheDirectoryIsAnError() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/not-a-directory"
            #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
            var configuration = EnvironmentConfiguration.forTests
            configuration.createsDirectory = false
            let error = try #require(throws: BerkeleyDBError.self) {
                try Environment(directory: path, configuration: configuration)
            }
            #expect(error.code == ENOTDIR)
            #expect(error.operation.contains("DB_ENV->open"))
        }
    }

    @Test func aCommittedAndFlushedTransactionSurvivesACrash() throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try Environment(directory: directory, configuration: .forTests)
                let database = try environment.openDatabase(file: "queues.db", name: "messages")
                try environment.withTransaction { transaction throws in
                    try database.put(bytes("durable"), forKey: bigEndianKey(7), in: transaction)
                }
                try environment.flushLog()
                // No close: the handles are abandoned as a killed process would abandon them,
                // with the page cache never written to the database file.
                leakAsIfTheProcessDied(database)
                leakAsIfTheProcessDied(environment)
            }
            let environment = try Environment(directory: directory, configuration: .forTests)
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(7), in: transaction) == bytes("durable"))
            }
            try database.close()
            try environment.close()
        }
    }

    @Test func anUncommittedTransactionDoesNotSurviveACrash() throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try Environment(directory: directory, configuration: .forTests)
                let database = try environment.openDatabase(file: "queues.db", name: "messages")
                try environment.withTransaction { transaction throws in
                    try database.put(bytes("kept"), forKey: bigEndianKey(1), in: transaction)
                }
                let transaction = try environment.beginTransaction()
                try database.put(bytes("never committed"), forKey: bigEndianKey(2), in: transaction)
                try database.put(bytes("overwritten, never committed"), forKey: bigEndianKey(1), in: transaction)
                // The log now holds the uncommitted writes too; recovery must undo them.
                try environment.flushLog()
                try environment.checkpoint(force: true)
                leakAsIfTheProcessDied(transaction)
                leakAsIfTheProcessDied(database)
                leakAsIfTheProcessDied(environment)
            }
            let environment = try Environment(directory: directory, configuration: .forTests)
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bigEndianKey(1), in: transaction) == bytes("kept"))
                #expect(try database.value(forKey: bigEndianKey(2), in: transaction) == nil)
            }
            try database.close()
            try environment.close()
        }
    }

    /// The difference between the commit durabilities, which `--fsync` modes rely on: a `.noSync`
    /// commit lives only in the log buffer until a flush, a `.writeNoSync` commit is in the
    /// operating system (so it survives the process dying).
    @Test(arguments: [CommitDurability.noSync, .writeNoSync])
    func anUnflushedCommitSurvivesACrashOnlyIfWritten(durability: CommitDurability) throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try Environment(directory: directory, configuration: .forTests)
                let database = try environment.openDatabase(file: "queues.db", name: "messages")
                try environment.flushLog()
                try environment.withTransaction(durability: durability) { transaction throws in
                    try database.put(bytes("maybe"), forKey: bigEndianKey(1), in: transaction)
                }
                leakAsIfTheProcessDied(database)
                leakAsIfTheProcessDied(environment)
            }
            let environment = try Environment(directory: directory, configuration: .forTests)
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try environment.withTransaction { transaction throws in
                let survived = try database.value(forKey: bigEndianKey(1), in: transaction) == bytes("maybe")
                #expect(survived == (durability == .writeNoSync))
            }
            try database.close()
            try environment.close()
        }
    }

    @Test func closeAbortsLiveTransactionsClosesDatabasesAndIsIdempotent() throws {
        try withTemporaryDirectory { directory in
            let recorder = LogRecorder()
            let environment = try Environment(directory: directory, configuration: .forTests, logger: recorder.logger)
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try environment.withTransaction { transaction throws in
                try database.put(bytes("committed"), forKey: bigEndianKey(1), in: transaction)
            }
            let transaction = try environment.beginTransaction()
            try database.put(bytes("aborted by close"), forKey: bigEndianKey(2), in: transaction)

            try environment.close()
            try environment.close()
            #expect(!transaction.isActive)
            #expect(!database.isOpen)
            #expect(recorder.entries.contains { $0.level == .error && $0.message.contains("transaction") })

            // Every handle refuses further use instead of reaching freed Berkeley DB memory.
            let commitError = try #require(throws: BerkeleyDBError.self) { try transaction.commit() }
            #expect(commitError.isMisuse)
            let putError = try #require(throws: BerkeleyDBError.self) {
                try database.put(bytes("x"), forKey: bigEndianKey(3), in: transaction)
            }
            #expect(putError.isMisuse)
            let beginError = try #require(throws: BerkeleyDBError.self) { try environment.beginTransaction() }
            #expect(beginError.isMisuse)
            try database.close()

            let reopened = try Environment(directory: directory, configuration: .forTests)
            let again = try reopened.openDatabase(file: "queues.db", name: "messages")
            try reopened.withTransaction { transaction throws in
                #expect(try again.value(forKey: bigEndianKey(1), in: transaction) == bytes("committed"))
                #expect(try again.value(forKey: bigEndianKey(2), in: transaction) == nil)
            }
            try again.close()
            try reopened.close()
        }
    }

    @Test func openingAMissingDatabaseReportsBerkeleyDBsText() throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            let error = try #require(throws: BerkeleyDBError.self) {
                try environment.openDatabase(file: "missing.db", configuration: .init(createsIfMissing: false))
            }
            let systemText = String(cString: strerror(ENOENT))
            #expect(error.code == ENOENT)
            #expect(error.message == systemText)
            #expect(error.message == BerkeleyDBError.text(for: ENOENT))
            #expect(error.description.contains(systemText))
            #expect(error.description.contains("DB->open missing.db"))
            #expect(!error.isMisuse && !error.isDeadlock && !error.needsRecovery && !error.isOutOfSpace)
            try environment.close()
        }
    }

    @Test func berkeleyDBsOwnMessagesReachTheLoggerAndTheError() throws {
        try withTemporaryDirectory { directory in
            let recorder = LogRecorder()
            let environment = try Environment(directory: directory, configuration: .forTests, logger: recorder.logger)
            let btree = try environment.openDatabase(file: "typed.db")
            try btree.close()
            // Opening a B-Tree file as a Hash makes Berkeley DB explain itself through set_errcall.
            let error = try #require(throws: BerkeleyDBError.self) {
                try environment.openDatabase(file: "typed.db", configuration: .init(accessMethod: .hash))
            }
            #expect(error.code == EINVAL)
            let details = try #require(error.details)
            #expect(details.contains("typed.db"))
            #expect(recorder.entries.contains { $0.message.contains(details) })
            try environment.close()
        }
    }

    @Test func berkeleyDBCodesHaveTheirOwnTextAndChecks() {
        // Values from db.h (the test target does not import the C module).
        let lockDeadlock: Int32 = -30993, lockNotGranted: Int32 = -30992, runRecovery: Int32 = -30973
        let deadlock = BerkeleyDBError(code: lockDeadlock, operation: "DB->put")
        #expect(deadlock.isDeadlock)
        #expect(deadlock.message.contains("deadlock"))
        #expect(deadlock.description.contains("DB->put failed: \(deadlock.message)"))
        #expect(BerkeleyDBError(code: lockNotGranted, operation: "x").isDeadlock)
        #expect(BerkeleyDBError(code: runRecovery, operation: "x").needsRecovery)
        #expect(BerkeleyDBError(code: ENOSPC, operation: "x").isOutOfSpace)
        #expect(BerkeleyDBError(code: EFBIG, operation: "x").isOutOfSpace)
        #expect(!BerkeleyDBError(code: EINVAL, operation: "x").isOutOfSpace)
        #expect(!BerkeleyDBError(code: EINVAL, operation: "x").isMisuse)
    }

    /// With automatic removal, checkpoints leave only the newest log files; without it (the
    /// control case) every file stays.
    @Test(arguments: [true, false])
    func automaticLogRemovalKeepsTheLogBounded(removesUnneededLogFiles: Bool) throws {
        try withTemporaryDirectory { directory in
            var configuration = EnvironmentConfiguration.forTests
            configuration.logBufferSize = 64 << 10
            configuration.logFileMaxSize = 256 << 10
            configuration.removesUnneededLogFiles = removesUnneededLogFiles
            let environment = try Environment(directory: directory, configuration: configuration)
            let database = try environment.openDatabase(file: "queues.db")
            let value = [UInt8](repeating: 0xAB, count: 1000)
            for round in 0..<4 {
                try environment.withTransaction { transaction throws in
                    for index in 0..<1000 {
                        try database.put(value, forKey: bigEndianKey(UInt64(round * 1000 + index)), in: transaction)
                    }
                }
                try environment.checkpoint(force: true)
            }
            // About 4 MB of log was written in 256 KiB files; only those since the last checkpoint remain.
            let count = try logFileCount(in: directory)
            if removesUnneededLogFiles {
                #expect(count <= 3)
            } else {
                #expect(count >= 12)
            }
            try database.close()
            try environment.close()
        }
    }

    @Test func unusedLogFilesCanBeListedAndRemoved() throws {
        try withTemporaryDirectory { directory in
            var configuration = EnvironmentConfiguration.forTests
            configuration.logBufferSize = 64 << 10
            configuration.logFileMaxSize = 256 << 10
            configuration.removesUnneededLogFiles = false
            let environment = try Environment(directory: directory, configuration: configuration)
            let database = try environment.openDatabase(file: "queues.db")
            let value = [UInt8](repeating: 0xCD, count: 1000)
            try environment.withTransaction { transaction throws in
                for index in 0..<2000 {
                    try database.put(value, forKey: bigEndianKey(UInt64(index)), in: transaction)
                }
            }
            try environment.checkpoint(force: true)
            try environment.checkpoint(force: true)
            let before = try logFileCount(in: directory)
            let unused = try environment.unusedLogFiles()
            #expect(!unused.isEmpty)
            #expect(unused.allSatisfy { $0.hasPrefix("log.") })
            try environment.removeUnusedLogFiles()
            #expect(try logFileCount(in: directory) == before - unused.count)
            #expect(try environment.unusedLogFiles().isEmpty)
            try database.close()
            try environment.close()
        }
    }

    private func logFileCount(in directory: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("log.") }.count
    }
}
