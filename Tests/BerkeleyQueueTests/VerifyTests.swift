import BerkeleyQueue
import Foundation
import Testing

/// Berkeley DB's own checker, `db_verify`, run on the files the wrappers leave behind. These tests
/// fail (not skip) when `db_verify` is missing: without it nothing proves the files are sound.
@Suite struct VerifyTests {
    private static let verifier = "/usr/bin/db_verify"

    /// Runs `db_verify -h directory file` on the closed environment; returns its exit status and
    /// everything it printed.
    ///
    /// The environment's region files (`__db.*`) are removed first: left in place, `db_verify`
    /// joins the closed environment and may read pages from its cache instead of the file (a
    /// byte-for-byte copy of a database file even shares the original's cached pages, since
    /// Berkeley DB identifies files by the unique id in their metadata page).
    private func verify(_ file: String, in directory: String) throws -> (status: Int32, output: String) {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.verifier),
            "\(Self.verifier) is missing; install db-util (Berkeley DB 5.3 utilities)")
        for region in try FileManager.default.contentsOfDirectory(atPath: directory) where region.hasPrefix("__db.") {
            try FileManager.default.removeItem(atPath: directory + "/" + region)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.verifier)
        process.arguments = ["-h", directory, file]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Fills a B-Tree and a sorted-duplicate Hash in one file, and a B-Tree file of its own, with
    /// enough records (some big enough for overflow pages, some deleted) to span many pages.
    private func populate(_ environment: Environment) throws {
        let messages = try environment.openDatabase(file: "queues.db", name: "messages")
        let members = try environment.openDatabase(
            file: "queues.db", name: "members", configuration: .init(accessMethod: .hash, allowsSortedDuplicates: true))
        let meta = try environment.openDatabase(file: "meta.db", configuration: .init(pageSize: 4096))
        for batch in 0..<10 as Range<UInt64> {
            try environment.withTransaction { transaction in
                for index in 0..<500 as Range<UInt64> {
                    let sequence = batch * 500 + index
                    let size = sequence.isMultiple(of: 97) ? 20_000 : 100
                    let value = [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: size)
                    let key = queueKey(queue: sequence % 50, sequence: sequence)
                    try messages.put(value, forKey: key, in: transaction)
                    try members.put(value.prefix(32), forKey: bigEndianKey(sequence % 50), in: transaction)
                    try meta.put(bigEndianKey(sequence % 50), forKey: bigEndianKey(sequence), in: transaction)
                }
            }
            try environment.withTransaction { transaction in
                try transaction.withCursor(on: messages) { cursor in
                    // Pop the oldest hundred of queue `batch`.
                    var popped = 0
                    var found = try cursor.seek(toFirstKeyAtOrAfter: bigEndianKey(batch)) { key, _ in bigEndianValue(key) }
                    while found == batch && popped < 100 {
                        try cursor.deleteCurrent()
                        popped += 1
                        found = try cursor.next { key, _ in bigEndianValue(key) }
                    }
                }
            }
        }
        try environment.flushLog()
        try environment.checkpoint(force: true)
        try messages.close()
        try members.close()
        try meta.close()
    }

    @Test func filesWrittenAndClosedAreSound() throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            try populate(environment)
            try environment.close()
            for file in ["queues.db", "meta.db"] {
                let result = try verify(file, in: directory)
                #expect(result.status == 0, "db_verify \(file): \(result.output)")
            }
        }
    }

    @Test func filesRecoveredAfterACrashAreSound() throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try Environment(directory: directory, configuration: .forTests)
                try populate(environment)
                let messages = try environment.openDatabase(file: "queues.db", name: "messages")
                let transaction = try environment.beginTransaction()
                for index in 0..<1000 as Range<UInt64> {
                    try messages.put(bytes("in flight"), forKey: queueKey(queue: 999, sequence: index), in: transaction)
                }
                try environment.flushLog()
                leakAsIfTheProcessDied(transaction)
                leakAsIfTheProcessDied(messages)
                leakAsIfTheProcessDied(environment)
            }
            let environment = try Environment(directory: directory, configuration: .forTests)
            try environment.close()
            for file in ["queues.db", "meta.db"] {
                let result = try verify(file, in: directory)
                #expect(result.status == 0, "db_verify \(file): \(result.output)")
            }
        }
    }

    /// The check above can fail: a database file with a scribbled page is reported.
    @Test func aCorruptedFileIsReported() throws {
        try withTemporaryDirectory { directory in
            let environment = try Environment(directory: directory, configuration: .forTests)
            try populate(environment)
            try environment.close()

            let original = try Data(contentsOf: URL(fileURLWithPath: directory + "/meta.db"))
            var corrupted = original
            let pageSize = 4096
            try #require(corrupted.count >= 3 * pageSize)
            // Overwrite the second page's header and contents with garbage.
            corrupted.replaceSubrange(pageSize..<pageSize + 512, with: [UInt8](repeating: 0xEE, count: 512))
            try corrupted.write(to: URL(fileURLWithPath: directory + "/corrupted.db"))

            let result = try verify("corrupted.db", in: directory)
            #expect(result.status != 0, "db_verify accepted a corrupted file: \(result.output)")
        }
    }
}
