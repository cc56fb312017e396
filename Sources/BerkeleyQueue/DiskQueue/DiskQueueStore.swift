import Logging
import NIOCore
import QueueCore

#if canImport(Glibc)
import Glibc
#endif

/// The disk queue as the database thread sees it: the Berkeley DB environment, its databases, and
/// the catalog of queues mirrored in memory. It runs commands inside the transaction it is given;
/// ``DiskQueueProcessor`` decides how commands are grouped into transactions and log flushes.
///
/// One file, `queues.db`, holds four databases, whatever the number of queues:
/// - `messages` (B-Tree): queue id + sequence → flags + message. Sequences are big-endian, so a
///   queue's messages sit together in FIFO order.
/// - `index` (Hash, sorted duplicates): queue id + digest of the message → sequence; uniqueness,
///   SISMEMBER and SREM find a message through it without scanning the queue. Pops from the head
///   leave their entries behind for ``sweepIndex(visiting:in:)``: an entry counts only while its
///   message is there.
/// - `catalog` (B-Tree): queue name → ``QueueRecord``. Names are only ever keys, never paths.
/// - `meta` (B-Tree): the digest key, the next queue id, deleted queues still being purged, and
///   the backlog of the index sweep.
/// - `reservations` (B-Tree): reservation id → queue name and message, for messages clients took
///   aside (memcached `q/open`) and have not acknowledged. At start-up no client holds anything, so
///   they all go back to the head of their queues.
///
/// Not thread-safe: only the database thread touches it.
final class DiskQueueStore {
    struct Settings: Sendable {
        var allowsDuplicates: Bool
        var maximumQueues: Int?
        var environment: EnvironmentConfiguration
    }

    let environment: Environment
    private let messages: Database
    private let index: Database
    private let catalogDatabase: Database
    private let meta: Database
    private let reservations: Database
    private let digest: MessageDigest
    private let settings: Settings

    /// Every queue, by name: the disk's catalog, mirrored.
    private(set) var catalog: [ByteBuffer: QueueRecord] = [:]
    private var nextQueueID: UInt64
    /// Deleted queues whose messages are still being purged, oldest first.
    private(set) var doomedQueues: [UInt64] = []

    /// The current transaction's changes: what it touched, to write back when it ends or to
    /// restore when it aborts.
    private var touchedRecords: [ByteBuffer: QueueRecord?] = [:]
    private var nextQueueIDBefore: UInt64?
    private var doomedQueuesBefore: [UInt64]?
    /// Whether the current transaction changed anything (a read-only one needs no log flush).
    private(set) var transactionWrote = false
    /// Queues that received messages since the processor last looked: their waiters may be served.
    var queuesGainedMessages: [ByteBuffer] = []

    /// Index entries left behind by pops from the head (see `QueueRecord.poppedSequences`) and
    /// not swept yet, at most; kept in `meta`, so a restart resumes the sweep.
    private(set) var unsweptIndexEntries = 0
    private var unsweptIndexEntriesBefore: Int?
    /// The backlog at which the next sweep of the index starts: a quarter of the messages queued
    /// (set again whenever the backlog reaches it), so the index holds at most about a quarter
    /// more entries than messages and a sweep visits at most five entries per one it deletes.
    private var nextSweepBacklog: Int
    /// The sweep of the index under way.
    private var sweep: IndexSweep?
    /// The smallest backlog worth a sweep of the index.
    static let minimumSweepBacklog = 10_000
    /// Where the sweep reads the index in bulk: many pages per call.
    private var sweepBuffer = [UInt8](repeating: 0, count: 64 << 10)

    /// Reused to lay out `flags + message` for Berkeley DB.
    private var valueScratch: [UInt8] = []

    private static let databaseFile = "queues.db"
    private static let hashKeyName = ByteBuffer(string: "hash-key")
    private static let nextQueueIDName = ByteBuffer(string: "next-queue-id")
    private static let unsweptIndexEntriesName = ByteBuffer(string: "unswept-index-entries")
    private static let doomedPrefix: [UInt8] = Array("doomed:".utf8)

    /// Opens the environment in `directory`, running recovery, and loads the catalog.
    init(directory: String, settings: Settings, logger: Logger) throws {
        self.settings = settings
        let environment = try Environment(directory: directory, configuration: settings.environment, logger: logger)
        self.environment = environment
        func open(_ name: String, _ configuration: DatabaseConfiguration) throws -> Database {
            try environment.openDatabase(file: Self.databaseFile, name: name, configuration: configuration)
        }
        let catalogDatabase = try open("catalog", .init(accessMethod: .btree))
        let meta = try open("meta", .init(accessMethod: .btree))
        self.messages = try open("messages", .init(accessMethod: .btree))
        // No page size of its own: databases sharing a file share the page size of the first one
        // created in it (here 4 KiB, the file system's block); 16 KiB for the whole file measured the same.
        self.index = try open("index", .init(accessMethod: .hash, allowsSortedDuplicates: true))
        self.catalogDatabase = catalogDatabase
        self.meta = meta
        self.reservations = try open("reservations", .init(accessMethod: .btree))

        let loaded = try environment.withTransaction { transaction in
            try Self.load(catalog: catalogDatabase, meta: meta, in: transaction)
        }
        self.digest = loaded.0
        self.nextQueueID = loaded.1
        self.catalog = loaded.2
        self.doomedQueues = loaded.3
        self.unsweptIndexEntries = loaded.4
        self.nextSweepBacklog = Self.sweepBacklogThreshold(for: loaded.2.values)
    }

    private static func load(
        catalog catalogDatabase: Database,
        meta: Database,
        in transaction: Transaction
    ) throws -> (MessageDigest, UInt64, [ByteBuffer: QueueRecord], [UInt64], Int) {
        var hashKey = try meta.value(forKey: Self.hashKeyName, in: transaction)
        if hashKey == nil {
            // A new data directory: a secret digest key, kept for the directory's whole life.
            var generator = SystemRandomNumberGenerator()
            let key = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            try meta.put(key, forKey: Self.hashKeyName, in: transaction)
            hashKey = key
        }
        guard let hashKey, hashKey.count == 16 else {
            throw DiskQueueError.corrupt("the digest key in meta is not 16 bytes")
        }
        let digest = hashKey.withUnsafeBytes {
            MessageDigest(key0: StorageKeys.integer($0, at: 0), key1: StorageKeys.integer($0, at: 8))
        }
        let nextQueueID = try meta.withValue(forKey: Self.nextQueueIDName, in: transaction) { StorageKeys.integer($0) } ?? 1

        var catalog: [ByteBuffer: QueueRecord] = [:]
        try transaction.withCursor(on: catalogDatabase) { cursor in
            var entry = try cursor.first { name, value in (ByteBuffer(bytes: name), QueueRecord(value)) }
            while let (name, record) = entry {
                guard let record else { throw DiskQueueError.corrupt("a catalog record of the wrong size") }
                catalog[name] = record
                entry = try cursor.next { name, value in (ByteBuffer(bytes: name), QueueRecord(value)) }
            }
        }
        var doomed: [UInt64] = []
        try transaction.withCursor(on: meta) { cursor in
            var key = try cursor.seek(toFirstKeyAtOrAfter: Self.doomedPrefix) { key, _ in Array(key) }
            while let found = key, found.starts(with: Self.doomedPrefix), found.count == Self.doomedPrefix.count + 8 {
                doomed.append(found.withUnsafeBytes { StorageKeys.integer($0, at: Self.doomedPrefix.count) })
                key = try cursor.next { key, _ in Array(key) }
            }
        }
        let unswept = try meta.withValue(forKey: Self.unsweptIndexEntriesName, in: transaction) { StorageKeys.integer($0) } ?? 0
        return (digest, nextQueueID, catalog, doomed, Int(clamping: unswept))
    }

    /// The size of `queues.db` in bytes (0 if it cannot be read): what a checkpoint may have to
    /// write at most.
    var databaseFileBytes: Int {
        var status = stat()
        guard stat("\(self.environment.directory)/\(Self.databaseFile)", &status) == 0 else { return 0 }
        return Int(status.st_size)
    }

    func close() throws {
        try self.messages.close()
        try self.index.close()
        try self.catalogDatabase.close()
        try self.meta.close()
        try self.reservations.close()
        try self.environment.close()
    }

    // MARK: Transactions

    /// Writes back what the transaction changed in the catalog; call just before committing.
    func writeChanges(in transaction: Transaction) throws {
        for (name, _) in self.touchedRecords {
            if let record = self.catalog[name] {
                try record.withEncoded { try self.catalogDatabase.put($0, forKey: name, in: transaction) }
            } else {
                try self.catalogDatabase.delete(forKey: name, in: transaction)
            }
        }
        if self.nextQueueIDBefore != nil {
            try StorageKeys.withInteger(self.nextQueueID) { try self.meta.put($0, forKey: Self.nextQueueIDName, in: transaction) }
        }
        if self.unsweptIndexEntriesBefore != nil {
            try StorageKeys.withInteger(UInt64(self.unsweptIndexEntries)) {
                try self.meta.put($0, forKey: Self.unsweptIndexEntriesName, in: transaction)
            }
        }
        self.forgetChanges()
    }

    /// Restores the catalog as it was before an aborted transaction.
    func undoChanges() {
        for (name, record) in self.touchedRecords {
            self.catalog[name] = record
        }
        if let nextQueueID = self.nextQueueIDBefore {
            self.nextQueueID = nextQueueID
        }
        if let doomed = self.doomedQueuesBefore {
            self.doomedQueues = doomed
        }
        if let unswept = self.unsweptIndexEntriesBefore {
            self.unsweptIndexEntries = unswept
        }
        self.forgetChanges()
    }

    private func forgetChanges() {
        self.touchedRecords.removeAll(keepingCapacity: true)
        self.nextQueueIDBefore = nil
        self.doomedQueuesBefore = nil
        self.unsweptIndexEntriesBefore = nil
        self.transactionWrote = false
    }

    /// Notes that the transaction changes the queue called `name`, before it does.
    private func touch(_ name: ByteBuffer) {
        if self.touchedRecords.index(forKey: name) == nil {
            self.touchedRecords[name] = self.catalog[name]
        }
        self.transactionWrote = true
    }

    // MARK: Commands

    /// Runs one command inside `transaction`.
    func execute(_ command: QueueCommand, in transaction: Transaction) throws -> QueueReply {
        switch command {
        case .push(let name, let messages, let end, let onlyIfAbsent):
            return try self.push(messages, to: name, at: end, onlyIfAbsent: onlyIfAbsent, in: transaction)
        case .pop(let name, let end, let count):
            let popped = try self.pop(from: name, at: end, count: count ?? 1, in: transaction)
            return count == nil ? .message(popped.first) : .messages(popped)
        case .length(let name):
            return .integer(self.catalog[name]?.count ?? 0)
        case .contains(let name, let members):
            guard let record = self.catalog[name] else {
                return .memberships(Array(repeating: false, count: members.count))
            }
            return .memberships(try members.map { try self.findMessage($0, in: record, transaction) != nil })
        case .remove(let name, let members):
            return .integer(try self.remove(members, from: name, in: transaction))
        case .delete(let names):
            return .integer(try names.reduce(0) { $0 + (try self.deleteQueue(named: $1, in: transaction) ? 1 : 0) })
        case .exists(let names):
            return .integer(names.reduce(0) { $0 + (self.catalog[$1] == nil ? 0 : 1) })
        case .queueCount:
            return .integer(self.catalog.count)
        case .deleteAll:
            for name in Array(self.catalog.keys) {
                _ = try self.deleteQueue(named: name, in: transaction)
            }
            return .done
        case .names(let pattern):
            return .matchingNames(self.catalog.keys, pattern: pattern)
        case .scan(let cursor, let pattern, let count):
            return .scanning(self.catalog.keys, after: cursor, pattern: pattern, count: count)
        case .statistics:
            return .statistics(
                self.catalog.map { QueueStatistics(name: $0.key, added: $0.value.added, removed: $0.value.removed) }
            )
        case .range(let name, let start, let stop):
            guard let record = self.catalog[name],
                let positions = ListPositions.range(start: start, stop: stop, count: record.count)
            else { return .messages([]) }
            return .messages(try self.messages(of: record, positions: positions, in: transaction))
        case .element(let name, let index):
            guard let record = self.catalog[name], let position = ListPositions.element(index, count: record.count) else {
                return .message(nil)
            }
            return .message(try self.messages(of: record, positions: position...position, in: transaction).first)
        case .removeOccurrences(let name, let member, let count):
            return .integer(try self.removeOccurrences(of: member, from: name, limit: count == 0 ? .max : Int(clamping: count.magnitude), fromHead: count >= 0, in: transaction))
        case .move(let source, let destination, let from, let to):
            guard let message = try self.pop(from: source, at: from, count: 1, in: transaction).first else {
                return .message(nil)
            }
            _ = try self.push([message], to: destination, at: to, onlyIfAbsent: false, in: transaction)
            return .message(message)
        case .peek(let name, _):
            guard let record = self.catalog[name] else { return .message(nil) }
            return .message(try self.messages(of: record, positions: 0...0, in: transaction).first)
        case .blockingPop, .blockingMove, .reserve, .acknowledge, .abort:
            preconditionFailure("the processor handles \(command) itself")
        }
    }

    func push(
        _ messages: [Message],
        to name: ByteBuffer,
        at end: QueueEnd,
        onlyIfAbsent: Bool,
        in transaction: Transaction
    ) throws -> QueueReply {
        var record: QueueRecord
        if let existing = self.catalog[name] {
            record = existing
        } else {
            if let maximum = self.settings.maximumQueues, self.catalog.count >= maximum {
                return .failure(.tooManyQueues)
            }
            record = QueueRecord(id: self.nextQueueID)
        }
        let unique = !self.settings.allowsDuplicates || onlyIfAbsent
        var added = 0
        for message in messages {
            let digest = message.bytes.withUnsafeReadableBytes { self.digest.digest($0) }
            let sequence = end == .tail ? record.nextTailSequence : record.nextHeadSequence
            let indexed = try StorageKeys.withPair(record.id, digest) { key in
                try StorageKeys.withInteger(sequence) { value in
                    if unique {
                        // The usual case, a message not queued yet, takes one lookup: the insert
                        // itself fails when the digest is already known.
                        if try self.index.put(value, forKey: key, in: transaction, mode: .noOverwrite) {
                            return true
                        }
                        // An equal message is queued, or its pop left the entry (dropped on the way),
                        // or (rarely) another message shares the digest.
                        if try self.firstEqualMessage(message.bytes, under: key, in: record, transaction) != nil {
                            return false
                        }
                    }
                    try self.index.put(value, forKey: key, in: transaction)
                    return true
                }
            }
            guard indexed else { continue }
            switch end {
            case .tail: record.nextTailSequence += 1
            case .head: record.nextHeadSequence -= 1
            }
            self.valueScratch.removeAll(keepingCapacity: true)
            withUnsafeBytes(of: message.flags.bigEndian) { self.valueScratch.append(contentsOf: $0) }
            self.valueScratch.append(contentsOf: message.bytes.readableBytesView)
            try StorageKeys.withPair(record.id, sequence) { key in
                try self.messages.put(self.valueScratch, forKey: key, in: transaction)
            }
            added += 1
        }
        if added > 0 {
            self.queuesGainedMessages.append(name)
            if self.catalog[name] == nil {
                self.nextQueueIDBefore = self.nextQueueIDBefore ?? self.nextQueueID
                self.nextQueueID += 1
            }
            let storedName = self.catalog.index(forKey: name).map { self.catalog.keys[$0] } ?? name.ownCopy()
            self.touch(storedName)
            record.added += added
            self.catalog[storedName] = record
        }
        return .pushed(added: added, length: record.count)
    }

    func pop(from name: ByteBuffer, at end: QueueEnd, count: Int, in transaction: Transaction) throws -> [Message] {
        guard count > 0, var record = self.catalog[name] else { return [] }
        var popped: [Message] = []
        try transaction.withCursor(on: self.messages) { cursor in
            while popped.count < count {
                let found: (sequence: UInt64, message: Message)?
                switch end {
                case .head:
                    found = try StorageKeys.withPair(record.id, 0) { start in
                        try cursor.seek(toFirstKeyAtOrAfter: start) { key, value in Self.entry(key, value, of: record.id) }
                    } ?? nil
                case .tail:
                    // The last message is just before the next queue's first, or last of all.
                    let nextQueueFollows = try StorageKeys.withPair(record.id + 1, 0) { start in
                        try cursor.seek(toFirstKeyAtOrAfter: start) { _, _ in true }
                    } ?? false
                    let read = { (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) in Self.entry(key, value, of: record.id) }
                    found = try (nextQueueFollows ? cursor.previous(read) : cursor.last(read)) ?? nil
                }
                guard let found else { break }
                try cursor.deleteCurrent()
                if end == .head, record.notePoppedFromHead(found.sequence) {
                    self.noteUnsweptIndexEntries(1)
                } else {
                    try self.removeFromIndex(found.message.bytes, sequence: found.sequence, of: record, transaction)
                }
                popped.append(found.message)
            }
        }
        self.noteRemoval(of: popped.count, from: record, named: name)
        return popped
    }

    private func remove(_ members: [ByteBuffer], from name: ByteBuffer, in transaction: Transaction) throws -> Int {
        guard let record = self.catalog[name] else { return 0 }
        var removed = 0
        for member in members {
            while let sequence = try self.findMessage(member, in: record, transaction) {
                try self.deleteMessage(member, sequence: sequence, of: record, transaction)
                removed += 1
            }
        }
        self.noteRemoval(of: removed, from: record, named: name)
        return removed
    }

    /// The messages at `positions` (0 at the head), by walking the queue from its nearer end.
    private func messages(of record: QueueRecord, positions: ClosedRange<Int>, in transaction: Transaction) throws -> [Message] {
        let fromTail = positions.lowerBound > record.count - 1 - positions.upperBound
        var found: [Message] = []
        found.reserveCapacity(positions.count)
        try transaction.withCursor(on: self.messages) { cursor in
            let read = { (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) in Self.entry(key, value, of: record.id) }
            var position: Int
            var entry: (sequence: UInt64, message: Message)??
            if fromTail {
                position = record.count - 1
                let nextQueueFollows = try StorageKeys.withPair(record.id + 1, 0) { start in
                    try cursor.seek(toFirstKeyAtOrAfter: start) { _, _ in true }
                } ?? false
                entry = try nextQueueFollows ? cursor.previous(read) : cursor.last(read)
            } else {
                position = 0
                entry = try StorageKeys.withPair(record.id, 0) { try cursor.seek(toFirstKeyAtOrAfter: $0, read) }
            }
            while let current = entry ?? nil {
                if fromTail ? position < positions.lowerBound : position > positions.upperBound {
                    break
                }
                if positions.contains(position) {
                    found.append(current.message)
                }
                position += fromTail ? -1 : 1
                entry = try fromTail ? cursor.previous(read) : cursor.next(read)
            }
        }
        return fromTail ? found.reversed() : found
    }

    private func removeOccurrences(
        of member: ByteBuffer,
        from name: ByteBuffer,
        limit: Int,
        fromHead: Bool,
        in transaction: Transaction
    ) throws -> Int {
        guard let record = self.catalog[name] else { return 0 }
        var sequences = try self.findMessages(member, in: record, transaction)
        sequences.sort(by: fromHead ? (<) : (>))
        var removed = 0
        for sequence in sequences.prefix(limit) {
            try self.deleteMessage(member, sequence: sequence, of: record, transaction)
            removed += 1
        }
        self.noteRemoval(of: removed, from: record, named: name)
        return removed
    }

    // MARK: Reservations

    /// Takes the head message of `name` aside as reservation `id`.
    func reserve(_ name: ByteBuffer, id: UInt64, in transaction: Transaction) throws -> Message? {
        guard let message = try self.pop(from: name, at: .head, count: 1, in: transaction).first else { return nil }
        self.valueScratch.removeAll(keepingCapacity: true)
        withUnsafeBytes(of: UInt32(name.readableBytes).bigEndian) { self.valueScratch.append(contentsOf: $0) }
        self.valueScratch.append(contentsOf: name.readableBytesView)
        withUnsafeBytes(of: message.flags.bigEndian) { self.valueScratch.append(contentsOf: $0) }
        self.valueScratch.append(contentsOf: message.bytes.readableBytesView)
        try StorageKeys.withInteger(id) { try self.reservations.put(self.valueScratch, forKey: $0, in: transaction) }
        return message
    }

    /// Ends reservation `id`: acknowledged (its message is gone for good) or returned to the head
    /// of its queue.
    func closeReservation(id: UInt64, returningMessage: Bool, in transaction: Transaction) throws {
        let record = try StorageKeys.withInteger(id) { key in
            try self.reservations.withValue(forKey: key, in: transaction) { Self.reservation($0) }
        }
        guard let record else { return }
        try StorageKeys.withInteger(id) { try self.reservations.delete(forKey: $0, in: transaction) }
        self.transactionWrote = true
        if returningMessage {
            _ = try self.push([record.message], to: record.queue, at: .head, onlyIfAbsent: false, in: transaction)
        }
    }

    /// Returns every reservation left by the last run to the head of its queue, oldest in front.
    func returnAllReservations(in transaction: Transaction) throws -> Int {
        var ids: [UInt64] = []
        try transaction.withCursor(on: self.reservations) { cursor in
            var id = try cursor.last { key, _ in StorageKeys.integer(key) }
            while let current = id {
                ids.append(current)
                id = try cursor.previous { key, _ in StorageKeys.integer(key) }
            }
        }
        for id in ids {
            try self.closeReservation(id: id, returningMessage: true, in: transaction)
        }
        return ids.count
    }

    private static func reservation(_ value: UnsafeRawBufferPointer) -> (queue: ByteBuffer, message: Message) {
        let nameLength = Int(UInt32(bigEndian: value.loadUnaligned(as: UInt32.self)))
        let queue = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: value[4..<(4 + nameLength)]))
        let rest = UnsafeRawBufferPointer(rebasing: value[(4 + nameLength)...])
        let flags = UInt32(bigEndian: rest.loadUnaligned(as: UInt32.self))
        return (queue, Message(bytes: ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: rest[4...])), flags: flags))
    }

    /// Drops a queue at once; its messages are purged later, a slice at a time
    /// (see ``purgeDoomedQueue(limit:in:)``), so a huge queue never stalls anyone.
    private func deleteQueue(named name: ByteBuffer, in transaction: Transaction) throws -> Bool {
        guard let record = self.catalog[name] else { return false }
        self.touch(name)
        self.catalog[name] = nil
        try self.doom(record.id, in: transaction)
        return true
    }

    /// Stores the record, or forgets the queue once it is empty: an empty queue does not exist.
    private func update(_ record: QueueRecord, named name: ByteBuffer) {
        self.catalog[name] = record.count > 0 ? record : nil
    }

    // MARK: Purging deleted queues

    private func doom(_ id: UInt64, in transaction: Transaction) throws {
        self.doomedQueuesBefore = self.doomedQueuesBefore ?? self.doomedQueues
        self.doomedQueues.append(id)
        try self.withDoomedKey(id) { try self.meta.put([UInt8](), forKey: $0, in: transaction) }
    }

    /// Deletes up to `limit` messages of the oldest deleted queue, and forgets the queue once none
    /// is left.
    ///
    /// - Returns: Whether deleted queues still hold messages.
    func purgeDoomedQueue(limit: Int, in transaction: Transaction) throws -> Bool {
        guard let id = self.doomedQueues.first else { return false }
        self.doomedQueuesBefore = self.doomedQueuesBefore ?? self.doomedQueues
        self.transactionWrote = true
        var purged = 0
        var exhausted = false
        try transaction.withCursor(on: self.messages) { cursor in
            while purged < limit {
                let found = try StorageKeys.withPair(id, 0) { start in
                    try cursor.seek(toFirstKeyAtOrAfter: start) { key, value in Self.entry(key, value, of: id) }
                } ?? nil
                guard let found else {
                    exhausted = true
                    return
                }
                try cursor.deleteCurrent()
                let digest = found.message.bytes.withUnsafeReadableBytes { self.digest.digest($0) }
                try StorageKeys.withPair(id, digest) { key in
                    try StorageKeys.withInteger(found.sequence) { try self.index.delete(value: $0, forKey: key, in: transaction) }
                }
                purged += 1
            }
        }
        if exhausted {
            try self.withDoomedKey(id) { try self.meta.delete(forKey: $0, in: transaction) }
            self.doomedQueues.removeFirst()
        }
        return !self.doomedQueues.isEmpty
    }

    // MARK: Sweeping the index

    /// Whether a sweep of the index is under way or due.
    func indexSweepIsDue() -> Bool {
        if self.sweep != nil { return true }
        guard self.unsweptIndexEntries >= self.nextSweepBacklog else { return false }
        // Queues grew or shrank since the threshold was set.
        self.nextSweepBacklog = Self.sweepBacklogThreshold(for: self.catalog.values)
        return self.unsweptIndexEntries >= self.nextSweepBacklog
    }

    /// Visits up to about `limit` index entries of the sweep (starting one if none is under way)
    /// and deletes the stale ones (see ``IndexSweep/isStale(queue:sequence:)``).
    ///
    /// - Returns: What the whole sweep did, once it has finished.
    @discardableResult
    func sweepIndex(visiting limit: Int, in transaction: Transaction) throws -> IndexSweep? {
        var sweep = self.sweep ?? IndexSweep(
            backlog: self.unsweptIndexEntries, catalog: self.catalog.values, purging: self.doomedQueues, nextQueueID: self.nextQueueID)
        func isStale(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
            guard key.count == StorageKeys.indexKeySize, value.count == StorageKeys.indexValueSize else { return false }
            return sweep.isStale(queue: StorageKeys.integer(key), sequence: StorageKeys.integer(value))
        }
        // Read in bulk, then delete: the pages just read are still in the cache.
        var staleEntries: [UInt8] = []
        var finished = false
        try self.sweepBuffer.withUnsafeMutableBytes { buffer in
            try transaction.withCursor(on: self.index) { cursor in
                // Where the last slice stopped; from the start again if that entry has gone since.
                var fromStart = true
                if let position = sweep.position, try cursor.seek(toKey: position.key, value: position.value, { _, _ in true }) == true {
                    fromStart = false
                }
                var visited = 0
                while visited < limit {
                    var lastKept: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
                    let read = try cursor.nextRecords(fromStart: fromStart, into: buffer) { key, value in
                        if isStale(key, value) {
                            staleEntries.append(contentsOf: key)
                            staleEntries.append(contentsOf: value)
                        } else {
                            lastKept = (key, value)
                        }
                    }
                    fromStart = false
                    visited += read
                    if let lastKept {
                        sweep.position = (Array(lastKept.key), Array(lastKept.value))
                    }
                    if read == 0 {
                        finished = true
                        break
                    }
                }
                sweep.visited += visited
            }
        }
        try transaction.withCursor(on: self.index) { cursor in
            let entrySize = StorageKeys.indexKeySize + StorageKeys.indexValueSize
            for start in stride(from: 0, to: staleEntries.count, by: entrySize) {
                try staleEntries[start..<start + entrySize].withUnsafeBytes { entry in
                    let key = UnsafeRawBufferPointer(rebasing: entry[..<StorageKeys.indexKeySize])
                    let value = UnsafeRawBufferPointer(rebasing: entry[StorageKeys.indexKeySize...])
                    let found = try cursor.seek(toKey: key, value: value) { _, _ in true }
                    if found == true, try cursor.deleteCurrent() {
                        sweep.deleted += 1
                    }
                }
            }
        }
        if !staleEntries.isEmpty {
            self.transactionWrote = true
        }
        guard finished else {
            self.sweep = sweep
            return nil
        }
        self.sweep = nil
        self.noteUnsweptIndexEntries(-sweep.backlog)
        self.nextSweepBacklog = Self.sweepBacklogThreshold(for: self.catalog.values)
        return sweep
    }

    private static func sweepBacklogThreshold(for queues: some Sequence<QueueRecord>) -> Int {
        let queued = queues.reduce(0) { $0 + $1.count }
        return max(Self.minimumSweepBacklog, queued / 4)
    }

    private func noteUnsweptIndexEntries(_ change: Int) {
        self.unsweptIndexEntriesBefore = self.unsweptIndexEntriesBefore ?? self.unsweptIndexEntries
        self.unsweptIndexEntries = max(0, self.unsweptIndexEntries + change)
        self.transactionWrote = true
    }

    @discardableResult
    private func withDoomedKey<Result>(_ id: UInt64, _ body: ([UInt8]) throws -> Result) rethrows -> Result {
        var key = Self.doomedPrefix
        withUnsafeBytes(of: id.bigEndian) { key.append(contentsOf: $0) }
        return try body(key)
    }

    /// How many records `messages` and `index` hold, whatever queue they belong to (diagnostics).
    func recordCounts() throws -> (messages: Int, index: Int) {
        try self.environment.withTransaction { transaction in
            func count(_ database: Database) throws -> Int {
                try transaction.withCursor(on: database) { cursor in
                    var count = 0
                    var more = try cursor.first { _, _ in true } ?? false
                    while more {
                        count += 1
                        more = try cursor.next { _, _ in true } ?? false
                    }
                    return count
                }
            }
            return (try count(self.messages), try count(self.index))
        }
    }

    // MARK: Messages and the index

    /// The sequence of a queued message equal to `bytes`, found through the index.
    private func findMessage(_ bytes: ByteBuffer, in record: QueueRecord, _ transaction: Transaction) throws -> UInt64? {
        let digest = bytes.withUnsafeReadableBytes { self.digest.digest($0) }
        return try StorageKeys.withPair(record.id, digest) { indexKey in
            // Most messages are not queued yet: one lookup settles it without opening a cursor.
            guard try self.index.containsKey(indexKey, in: transaction) else { return nil }
            return try self.firstEqualMessage(bytes, under: indexKey, in: record, transaction)
        }
    }

    /// The sequence of the first message of `record` filed under `indexKey` that equals `bytes`.
    private func firstEqualMessage(
        _ bytes: ByteBuffer,
        under indexKey: UnsafeRawBufferPointer,
        in record: QueueRecord,
        _ transaction: Transaction
    ) throws -> UInt64? {
        var found: UInt64?
        try self.forEachEqualMessage(bytes, under: indexKey, in: record, transaction) { sequence in
            found = sequence
            return false
        }
        return found
    }

    /// The sequences of every queued message equal to `bytes`.
    private func findMessages(_ bytes: ByteBuffer, in record: QueueRecord, _ transaction: Transaction) throws -> [UInt64] {
        let digest = bytes.withUnsafeReadableBytes { self.digest.digest($0) }
        return try StorageKeys.withPair(record.id, digest) { indexKey in
            var found: [UInt64] = []
            try self.forEachEqualMessage(bytes, under: indexKey, in: record, transaction) { sequence in
                found.append(sequence)
                return true
            }
            return found
        }
    }

    /// Calls `body` with each message of `record` filed under `indexKey` (its queue id and a
    /// digest) that equals `bytes`, in index order, while `body` returns true. Equal digests are
    /// rare, so each candidate is compared with the stored message. Entries that pops left behind
    /// are deleted on the way, without looking their messages up.
    private func forEachEqualMessage(
        _ bytes: ByteBuffer,
        under indexKey: UnsafeRawBufferPointer,
        in record: QueueRecord,
        _ transaction: Transaction,
        _ body: (UInt64) -> Bool
    ) throws {
        try transaction.withCursor(on: self.index) { cursor in
            var candidate = try cursor.seek(toKey: indexKey) { _, value in StorageKeys.integer(value) }
            while let sequence = candidate {
                if record.poppedSequences?.contains(sequence) == true {
                    try cursor.deleteCurrent()
                    self.transactionWrote = true
                    candidate = try cursor.nextDuplicate { _, value in StorageKeys.integer(value) }
                    continue
                }
                let equal = try StorageKeys.withPair(record.id, sequence) { messageKey in
                    try self.messages.withValue(forKey: messageKey, in: transaction) { Self.equal(Self.contents(of: $0), bytes) }
                }
                if equal == true, !body(sequence) {
                    return
                }
                candidate = try cursor.nextDuplicate { _, value in StorageKeys.integer(value) }
            }
        }
    }

    /// Deletes message `sequence` of `record`, equal to `bytes`, and its index entry.
    private func deleteMessage(_ bytes: ByteBuffer, sequence: UInt64, of record: QueueRecord, _ transaction: Transaction) throws {
        try StorageKeys.withPair(record.id, sequence) { try self.messages.delete(forKey: $0, in: transaction) }
        try self.removeFromIndex(bytes, sequence: sequence, of: record, transaction)
    }

    /// Counts `removed` messages out of queue `name` in its catalog record.
    private func noteRemoval(of removed: Int, from record: QueueRecord, named name: ByteBuffer) {
        guard removed > 0 else { return }
        var record = record
        self.touch(name)
        record.removed += removed
        self.update(record, named: name)
    }

    private func removeFromIndex(_ bytes: ByteBuffer, sequence: UInt64, of record: QueueRecord, _ transaction: Transaction) throws {
        let digest = bytes.withUnsafeReadableBytes { self.digest.digest($0) }
        try StorageKeys.withPair(record.id, digest) { key in
            try StorageKeys.withInteger(sequence) { try self.index.delete(value: $0, forKey: key, in: transaction) }
        }
    }

    /// The sequence and message of a `messages` record, if it belongs to queue `id`.
    private static func entry(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, of id: UInt64) -> (sequence: UInt64, message: Message)? {
        let (queue, sequence) = StorageKeys.messageKey(key)
        guard queue == id else { return nil }
        let flags = UInt32(bigEndian: value.loadUnaligned(as: UInt32.self))
        return (sequence, Message(bytes: ByteBuffer(bytes: Self.contents(of: value)), flags: flags))
    }

    private static func equal(_ stored: UnsafeRawBufferPointer, _ bytes: ByteBuffer) -> Bool {
        bytes.withUnsafeReadableBytes { wanted in
            guard stored.count == wanted.count else { return false }
            guard let left = stored.baseAddress, let right = wanted.baseAddress else { return true }
            return memcmp(left, right, wanted.count) == 0
        }
    }

    /// A stored value without its four bytes of flags.
    private static func contents(of value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: value[4...])
    }
}
