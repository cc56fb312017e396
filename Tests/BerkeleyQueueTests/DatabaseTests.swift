import BerkeleyQueue
import Foundation
import NIOCore
import Testing

@Suite struct DatabaseTests {
    /// Runs `body` with an open environment in a fresh directory, closed afterwards.
    private func withEnvironment(_ body: (Environment) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            defer { try? environment.close() }
            try body(environment)
            try environment.close()
        }
    }

    @Test func bTreeCursorWalksBigEndianKeysInNumericOrder() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "order.db")
            // Little-endian or decimal text would sort 256 before 255 and 1_000 before 99.
            let numbers: [UInt64] = [256, 1, 65_536, 255, 0, 99, 1_000, UInt64.max, 1 << 32, 70_000]
            try environment.withTransaction { transaction in
                for number in numbers.shuffled() {
                    try database.put(bigEndianKey(number), forKey: bigEndianKey(number), in: transaction)
                }
            }
            try environment.withTransaction { transaction throws in
                var forward: [UInt64] = []
                var backward: [UInt64] = []
                try transaction.withCursor(on: database) { cursor throws in
                    var found = try cursor.first { key, _ in bigEndianValue(key) }
                    while let number = found {
                        forward.append(number)
                        found = try cursor.next { key, value in
                            #expect(key.elementsEqual(value))
                            return bigEndianValue(key)
                        }
                    }
                    found = try cursor.last { key, _ in bigEndianValue(key) }
                    while let number = found {
                        backward.append(number)
                        found = try cursor.previous { key, _ in bigEndianValue(key) }
                    }
                }
                #expect(forward == numbers.sorted())
                #expect(backward == numbers.sorted().reversed())
            }
            try database.close()
        }
    }

    @Test func setRangeFindsTheFirstKeyOfAPrefix() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            // Queues 1, 2 and 300, each with sequences that do not start at 0.
            let records: [(queue: UInt64, sequence: UInt64)] =
                [(1, 5), (1, 6), (2, 17), (2, 256), (2, 1_000), (300, 3)]
            try environment.withTransaction { transaction in
                for record in records.shuffled() {
                    try database.put(
                        bytes("\(record.queue):\(record.sequence)"),
                        forKey: queueKey(queue: record.queue, sequence: record.sequence), in: transaction)
                }
            }
            try environment.withTransaction { transaction throws in
                try transaction.withCursor(on: database) { cursor throws in
                    // The oldest message of queue 2: an 8-byte prefix finds the first 16-byte key.
                    let head = try cursor.seek(toFirstKeyAtOrAfter: bigEndianKey(2)) { key, value in
                        (bigEndianValue(key), bigEndianValue(key, at: 8), String(decoding: value, as: UTF8.self))
                    }
                    #expect(head?.0 == 2 && head?.1 == 17 && head?.2 == "2:17")
                    // Walking on stays in order within the queue, then leaves it.
                    #expect(try cursor.next { key, _ in bigEndianValue(key, at: 8) } == 256)
                    #expect(try cursor.next { key, _ in bigEndianValue(key, at: 8) } == 1_000)
                    #expect(try cursor.next { key, _ in bigEndianValue(key) } == 300)
                    // An empty queue's prefix lands on the next queue's first key: check the prefix.
                    let landed = try cursor.seek(toFirstKeyAtOrAfter: bigEndianKey(3)) { key, _ in bigEndianValue(key) }
                    #expect(landed == 300)
                    // Past the last key there is nothing.
                    #expect(try cursor.seek(toFirstKeyAtOrAfter: bigEndianKey(301)) { _, _ in true } == nil)
                    // An exact seek finds only the exact key.
                    #expect(try cursor.seek(toKey: queueKey(queue: 2, sequence: 256)) { _, value in Array(value) } == bytes("2:256"))
                    #expect(try cursor.seek(toKey: queueKey(queue: 2, sequence: 257)) { _, _ in true } == nil)
                }
            }
            try database.close()
        }
    }

    @Test func hashWithSortedDuplicatesHoldsSeveralValuesPerKey() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(
                file: "members.db", name: "members",
                configuration: .init(accessMethod: .hash, allowsSortedDuplicates: true))
            let key = bytes("queue-a")
            try environment.withTransaction { transaction throws in
                for member in ["pear", "apple", "fig", "banana"] {
                    #expect(try database.put(bytes(member), forKey: key, in: transaction))
                }
                try database.put(bytes("only"), forKey: bytes("queue-b"), in: transaction)
                // The same pair is never stored twice, and says so.
                #expect(try database.put(bytes("fig"), forKey: key, in: transaction, mode: .noDuplicateData) == false)
                #expect(try database.put(bytes("kiwi"), forKey: key, in: transaction, mode: .noDuplicateData))
                #expect(try database.put(bytes("kiwi"), forKey: key, in: transaction, mode: .noOverwrite) == false)
            }
            try environment.withTransaction { transaction throws in
                #expect(try database.containsPair(key: key, value: bytes("apple"), in: transaction))
                #expect(try database.containsPair(key: key, value: bytes("grape"), in: transaction) == false)
                // A plain get returns the smallest duplicate.
                #expect(try database.value(forKey: key, in: transaction) == bytes("apple"))
                try transaction.withCursor(on: database) { cursor throws in
                    var members: [String] = []
                    var found = try cursor.seek(toKey: key) { _, value in String(decoding: value, as: UTF8.self) }
                    #expect(try cursor.duplicateCount() == 5)
                    while let member = found {
                        members.append(member)
                        found = try cursor.nextDuplicate { _, value in String(decoding: value, as: UTF8.self) }
                    }
                    #expect(members == ["apple", "banana", "fig", "kiwi", "pear"])
                    let exact = try cursor.seek(toKey: key, value: bytes("fig")) { key, value in
                        String(decoding: key, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self)
                    }
                    #expect(exact == "queue-a=fig")
                    #expect(try cursor.nextDuplicate { _, value in Array(value) } == bytes("kiwi"))
                    #expect(try cursor.seek(toKey: key, value: bytes("grape")) { _, _ in true } == nil)
                }
            }
            try environment.withTransaction { transaction throws in
                #expect(try database.delete(value: bytes("fig"), forKey: key, in: transaction))
                #expect(try database.delete(value: bytes("fig"), forKey: key, in: transaction) == false)
                #expect(try database.delete(value: bytes("pear"), forKey: bytes("queue-c"), in: transaction) == false)
            }
            try environment.withTransaction { transaction throws in
                #expect(try database.containsPair(key: key, value: bytes("fig"), in: transaction) == false)
                #expect(try database.containsPair(key: key, value: bytes("banana"), in: transaction))
                #expect(try database.containsPair(key: bytes("queue-b"), value: bytes("only"), in: transaction))
                // Deleting the key removes every duplicate.
                #expect(try database.delete(forKey: key, in: transaction))
                #expect(try database.containsKey(key, in: transaction) == false)
                #expect(try database.containsKey(bytes("queue-b"), in: transaction))
            }
            try database.close()
        }
    }

    @Test func cursorDeletesTheCurrentRecordAndMovesOn() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "queue.db")
            try environment.withTransaction { transaction in
                for sequence in 1...5 as ClosedRange<UInt64> {
                    try database.put(bigEndianKey(sequence), forKey: bigEndianKey(sequence), in: transaction)
                }
            }
            try environment.withTransaction { transaction throws in
                try transaction.withCursor(on: database) { cursor throws in
                    // Pop the two oldest, as a queue would.
                    #expect(try cursor.first { key, _ in bigEndianValue(key) } == 1)
                    #expect(try cursor.deleteCurrent())
                    #expect(try cursor.deleteCurrent() == false)
                    #expect(try cursor.current { _, _ in true } == nil)
                    #expect(try cursor.next { key, _ in bigEndianValue(key) } == 2)
                    #expect(try cursor.deleteCurrent())
                }
            }
            try environment.withTransaction { transaction throws in
                try transaction.withCursor(on: database) { cursor throws in
                    #expect(try cursor.first { key, _ in bigEndianValue(key) } == 3)
                }
            }
            try database.close()
        }
    }

    @Test func putModesAndDeleteReportWhatHappened() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "plain.db", configuration: .init(accessMethod: .hash))
            let key = bigEndianKey(42)
            try environment.withTransaction { transaction throws in
                #expect(try database.put(bytes("first"), forKey: key, in: transaction, mode: .noOverwrite))
                #expect(try database.put(bytes("second"), forKey: key, in: transaction, mode: .noOverwrite) == false)
                #expect(try database.value(forKey: key, in: transaction) == bytes("first"))
                #expect(try database.put(bytes("third"), forKey: key, in: transaction))
                #expect(try database.value(forKey: key, in: transaction) == bytes("third"))
                #expect(try database.delete(forKey: key, in: transaction))
                #expect(try database.delete(forKey: key, in: transaction) == false)
                #expect(try database.withValue(forKey: key, in: transaction) { _ in true } == nil)
            }
            try database.close()
        }
    }

    @Test func keysAndValuesComeFromArraysByteBuffersAndRawBuffers() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "bytes.db")
            var buffer = ByteBuffer()
            buffer.writeString("xxpayload")
            buffer.moveReaderIndex(forwardBy: 2)
            let big = [UInt8]((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            try environment.withTransaction { transaction throws in
                try database.put(buffer, forKey: ByteBuffer(string: "buffer"), in: transaction)
                try database.put([UInt8](), forKey: bytes("empty"), in: transaction)
                try database.put(big, forKey: bytes("big"), in: transaction)
                var sequence = UInt64(9).bigEndian
                _ = try withUnsafeBytes(of: &sequence) { key in
                    try database.put(bytes("raw")[...], forKey: key, in: transaction)
                }
            }
            #expect(buffer.readableBytes == 7)
            try environment.withTransaction { transaction throws in
                #expect(try database.value(forKey: bytes("buffer"), in: transaction) == bytes("payload"))
                #expect(try database.value(forKey: bytes("empty"), in: transaction) == [])
                #expect(try database.withValue(forKey: bytes("big"), in: transaction) { $0.elementsEqual(big) } == true)
                #expect(try database.value(forKey: bigEndianKey(9), in: transaction) == bytes("raw"))
            }
            try database.close()
        }
    }

    @Test func manySubdatabasesShareOneFileAndOneDescriptor() throws {
        try withTemporaryDirectory { directory in
            let count = 300
            do {
                let environment = try Environment(directory: directory, configuration: .forTests)
                var databases: [Database] = []
                for index in 0..<count {
                    let configuration = DatabaseConfiguration(accessMethod: index.isMultiple(of: 2) ? .btree : .hash)
                    databases.append(try environment.openDatabase(file: "queues.db", name: "queue-\(index)", configuration: configuration))
                }
                // All open at once, yet the file is open a handful of times, not once per database.
                let descriptors = try openDescriptors(of: directory + "/queues.db")
                #expect((1..<10).contains(descriptors))
                try environment.withTransaction { transaction in
                    for (index, database) in databases.enumerated() {
                        try database.put(bytes("value \(index)"), forKey: bigEndianKey(UInt64(index)), in: transaction)
                    }
                }
                for database in databases { try database.close() }
                try environment.close()
            }
            let dataFiles = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { !$0.hasPrefix("log.") && !$0.hasPrefix("__db.") }
            #expect(dataFiles == ["queues.db"])

            let environment = try Environment(directory: directory, configuration: .forTests)
            for index in [0, 1, count / 2, count - 1] {
                let database = try environment.openDatabase(
                    file: "queues.db", name: "queue-\(index)",
                    configuration: .init(accessMethod: index.isMultiple(of: 2) ? .btree : .hash, createsIfMissing: false))
                try environment.withTransaction { transaction throws in
                    #expect(try database.value(forKey: bigEndianKey(UInt64(index)), in: transaction) == bytes("value \(index)"))
                    #expect(try database.value(forKey: bigEndianKey(UInt64(index + 1)), in: transaction) == nil)
                }
                try database.close()
            }
            try environment.close()
        }
    }

    @Test func truncateEmptiesADatabase() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "queues.db", name: "messages")
            try environment.withTransaction { transaction in
                for index in 0..<10 as Range<UInt64> {
                    try database.put(bytes("m"), forKey: bigEndianKey(index), in: transaction)
                }
            }
            try environment.withTransaction { transaction throws in
                #expect(try database.truncate(in: transaction) == 10)
                try transaction.withCursor(on: database) { cursor throws in
                    #expect(try cursor.first { _, _ in true } == nil)
                }
            }
            try database.close()
        }
    }

    @Test func databasesCreatedInAnAbortedTransactionDoNotExist() throws {
        try withEnvironment { environment in
            let transaction = try environment.beginTransaction()
            let database = try environment.openDatabase(file: "queues.db", name: "messages", in: transaction)
            try database.put(bytes("x"), forKey: bigEndianKey(1), in: transaction)
            try transaction.abort()
            try database.close()
            let error = try #require(throws: BerkeleyDBError.self) {
                try environment.openDatabase(file: "queues.db", name: "messages", configuration: .init(createsIfMissing: false))
            }
            #expect(error.code == ENOENT)
        }
    }

    @Test func aClosedDatabaseRefusesWork() throws {
        try withEnvironment { environment in
            let database = try environment.openDatabase(file: "queues.db")
            try database.close()
            try database.close()
            try environment.withTransaction { transaction throws in
                let error = try #require(throws: BerkeleyDBError.self) {
                    try database.put(bytes("x"), forKey: bigEndianKey(1), in: transaction)
                }
                #expect(error.isMisuse)
                #expect(error.code == EINVAL)
                #expect(error.description.contains("closed"))
            }
        }
    }

    /// How many of this process's file descriptors are open on `path`.
    private func openDescriptors(of path: String) throws -> Int {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count { descriptor in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)")) == target
        }
    }
}
