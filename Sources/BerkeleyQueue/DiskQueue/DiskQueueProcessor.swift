import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import QueueCore
import Synchronization

/// Queues on disk, in Berkeley DB: an acknowledged message survives `kill -9` and restarts
/// (SPEC §5).
///
/// One dedicated thread owns the environment and every transaction (DESIGN.md rule 6): Berkeley
/// DB never runs on an event loop. Connections hand it commands through ``PendingOperations``;
/// each time round it takes everything pending, runs it in as few transactions as possible,
/// commits them without syncing, flushes the log once for all of them (`--fsync always`), and only
/// then releases the replies, grouped into one task per event loop. Every command is answered
/// later, in the order it was given.
public final class DiskQueueProcessor: QueueProcessor {
    public struct Configuration: Sendable {
        /// When the log reaches the disk.
        public enum Durability: Sendable {
            /// Before any reply to a command that changed something (group-committed).
            case always
            /// At least once a second; a crash of the process loses nothing, of the machine up to a second.
            case everySecond
            /// When the operating system writes it; a crash of the process loses nothing.
            case never
        }

        public var directory: String
        public var durability: Durability
        public var allowsDuplicates: Bool
        public var maximumQueues: Int?
        /// Berkeley DB's page cache.
        public var cacheSize: Int

        public init(
            directory: String,
            durability: Durability = .always,
            allowsDuplicates: Bool = false,
            maximumQueues: Int? = nil,
            cacheSize: Int = 256 << 20
        ) {
            self.directory = directory
            self.durability = durability
            self.allowsDuplicates = allowsDuplicates
            self.maximumQueues = maximumQueues
            self.cacheSize = cacheSize
        }
    }

    /// Most commands in one transaction: bounds Berkeley DB's lock table and the work lost to a
    /// failed transaction (which is then retried command by command).
    static let maximumCommandsPerTransaction = 2000
    /// Messages of a deleted queue purged per transaction, between batches of client commands.
    static let purgeSliceSize = 500
    static let checkpointInterval: Double = 30

    public let configuration: Configuration
    private let logger: Logger
    private let pending = PendingOperations()
    private let directoryLock: DataDirectoryLock
    private let queues = Atomic<Int>(0)
    private let stopped = StopSignal()

    /// Opens (creating if needed) the data directory, runs recovery, and starts the database thread.
    ///
    /// - Throws: When the directory cannot be used or Berkeley DB cannot open it.
    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        try Environment.createDirectory(configuration.directory)
        self.directoryLock = try DataDirectoryLock(directory: configuration.directory)

        let opened = NIOLockedValueBox<Result<Void, any Error>?>(nil)
        let openedCondition = ConditionLock(value: false)
        let thread = Thread { [self] in
            let store: DiskQueueStore
            do {
                store = try self.openStore()
                openedCondition.lock()
                opened.withLockedValue { $0 = .success(()) }
                openedCondition.unlock(withValue: true)
            } catch {
                openedCondition.lock()
                opened.withLockedValue { $0 = .failure(error) }
                openedCondition.unlock(withValue: true)
                self.directoryLock.release()
                self.stopped.signal()
                return
            }
            self.run(store)
        }
        thread.name = "diskqueue-db"
        thread.start()
        openedCondition.lock(whenValue: true)
        openedCondition.unlock()
        try opened.withLockedValue { $0! }.get()
    }

    public var queueCount: Int { self.queues.load(ordering: .relaxed) }

    public func execute(_ command: QueueCommand, for client: any QueueClient) -> QueueReply? {
        guard self.pending.append(.init(command: command, client: client)) else {
            return .failure(.shuttingDown)
        }
        return nil
    }

    public func clientDisconnected(_ client: any QueueClient) {}

    /// Answers what is pending, makes everything durable, checkpoints and closes the environment.
    public func shutdown() async throws {
        self.pending.stop()
        await self.stopped.wait()
    }

    // MARK: The database thread

    private func openStore() throws -> DiskQueueStore {
        var environment = EnvironmentConfiguration()
        environment.cacheSize = self.configuration.cacheSize
        // Regions in this process's memory, not in shared files: only this process ever opens the
        // environment (the directory lock sees to that), recovery works from the log alone, and
        // private regions make every Berkeley DB call cheaper.
        environment.usesPrivateRegions = true
        let store = try DiskQueueStore(
            directory: self.configuration.directory,
            settings: .init(
                allowsDuplicates: self.configuration.allowsDuplicates,
                maximumQueues: self.configuration.maximumQueues,
                environment: environment
            ),
            logger: self.logger
        )
        self.queues.store(store.catalog.count, ordering: .relaxed)
        return store
    }

    private func run(_ opened: DiskQueueStore) {
        var store: DiskQueueStore? = opened
        var drained: [PendingOperations.Operation] = []
        var lastFlush = DispatchTime.now()
        var lastCheckpoint = DispatchTime.now()
        var unflushedWrites = false
        while true {
            let (batch, isStopping) = self.pending.takeAll(waitingAtMost: 0.25, reusing: &drained)
            if store == nil {
                store = self.reopen()
            }
            if !batch.isEmpty {
                let wrote = self.process(batch, in: &store)
                unflushedWrites = unflushedWrites || (wrote && self.configuration.durability != .always)
            }
            drained = batch
            guard let current = store else {
                if isStopping && batch.isEmpty { break }
                continue
            }
            if !current.doomedQueues.isEmpty {
                self.purgeSlice(of: current, in: &store)
            }
            let now = DispatchTime.now()
            if unflushedWrites && self.configuration.durability == .everySecond && Self.seconds(from: lastFlush, to: now) >= 1 {
                unflushedWrites = !self.attempt("flushing the log", in: &store) { try $0.environment.flushLog() }
                lastFlush = now
            }
            if Self.seconds(from: lastCheckpoint, to: now) >= Self.checkpointInterval {
                // Bounds recovery time and lets Berkeley DB remove log files nothing needs any more.
                _ = self.attempt("checkpointing", in: &store) { try $0.environment.checkpoint(minimumKilobytes: 1024) }
                lastCheckpoint = now
            }
            if isStopping && batch.isEmpty {
                break
            }
        }
        _ = self.attempt("closing", in: &store) { store in
            try store.environment.flushLog()
            try store.environment.checkpoint(force: true)
            try store.close()
        }
        self.directoryLock.release()
        self.logger.info("disk queue closed")
        self.stopped.signal()
    }

    /// Runs a batch: transactions of up to `maximumCommandsPerTransaction` commands, one log
    /// flush, then the replies. A transaction that fails is retried command by command, so one
    /// failing command (a full disk, say) fails alone.
    ///
    /// - Returns: Whether anything was written.
    private func process(_ batch: [PendingOperations.Operation], in store: inout DiskQueueStore?) -> Bool {
        var replies: [QueueReply] = []
        replies.reserveCapacity(batch.count)
        var wrote = false
        var start = 0
        while start < batch.count {
            let end = min(start + Self.maximumCommandsPerTransaction, batch.count)
            wrote = self.runTransaction(batch[start..<end], in: &store, replies: &replies) || wrote
            start = end
        }
        if wrote && self.configuration.durability == .always {
            if !self.attempt("flushing the log", in: &store, { try $0.environment.flushLog() }) {
                // Nothing of this batch is known to be on disk: none of it is acknowledged.
                replies = replies.map { _ in .failure(.storageFailure("the log could not be written")) }
            }
        }
        // Before the replies, so that a client that saw its push counted sees it in INFO too.
        self.queues.store(store?.catalog.count ?? 0, ordering: .relaxed)
        self.deliver(replies, for: batch)
        return wrote
    }

    private func runTransaction(
        _ operations: ArraySlice<PendingOperations.Operation>,
        in store: inout DiskQueueStore?,
        replies: inout [QueueReply]
    ) -> Bool {
        guard let current = store else {
            replies += operations.map { _ in .failure(.storageFailure("the disk store is unavailable")) }
            return false
        }
        let first = replies.count
        let commitDurability: CommitDurability = self.configuration.durability == .always ? .noSync : .writeNoSync
        do {
            let transaction = try current.environment.beginTransaction()
            do {
                for operation in operations {
                    replies.append(try current.execute(operation.command, in: transaction))
                }
                let wrote = current.transactionWrote
                try current.writeChanges(in: transaction)
                try transaction.commit(commitDurability)
                return wrote
            } catch {
                if transaction.isActive {
                    try? transaction.abort()
                }
                throw error
            }
        } catch {
            current.undoChanges()
            replies.removeSubrange(first...)
            self.logger.warning("a transaction of \(operations.count) commands failed: \(error)")
            if Self.needsRecovery(error) {
                store = self.reopen(after: current)
            }
            guard operations.count > 1 else {
                replies.append(.failure(.storageFailure(Self.describe(error))))
                return false
            }
            var wrote = false
            for index in operations.indices {
                wrote = self.runTransaction(operations[index...index], in: &store, replies: &replies) || wrote
            }
            return wrote
        }
    }

    private func purgeSlice(of current: DiskQueueStore, in store: inout DiskQueueStore?) {
        let durability: CommitDurability = self.configuration.durability == .always ? .noSync : .writeNoSync
        _ = self.attempt("purging a deleted queue", in: &store) { store in
            do {
                try store.environment.withTransaction(durability: durability) { transaction in
                    _ = try store.purgeDoomedQueue(limit: Self.purgeSliceSize, in: transaction)
                    try store.writeChanges(in: transaction)
                }
            } catch {
                store.undoChanges()
                throw error
            }
        }
    }

    /// Runs `body` on the store; logs a failure, and reopens the environment after a panic.
    ///
    /// - Returns: Whether `body` succeeded.
    private func attempt(_ what: String, in store: inout DiskQueueStore?, _ body: (DiskQueueStore) throws -> Void) -> Bool {
        guard let current = store else { return false }
        do {
            try body(current)
            return true
        } catch {
            self.logger.error("disk queue: \(what) failed: \(error)")
            if Self.needsRecovery(error) {
                store = self.reopen(after: current)
            }
            return false
        }
    }

    /// After Berkeley DB panicked (a full disk can do that): close what can be closed and open
    /// again, which runs recovery. Until that works, commands fail with an error reply.
    private func reopen(after failed: DiskQueueStore? = nil) -> DiskQueueStore? {
        if let failed {
            try? failed.close()
        }
        do {
            let store = try self.openStore()
            self.logger.notice("disk queue reopened after recovery")
            return store
        } catch {
            self.logger.error("disk queue: reopening failed, retrying: \(error)")
            return nil
        }
    }

    /// Hands the replies to their clients: one task per event loop, one delivery per client.
    private func deliver(_ replies: [QueueReply], for batch: [PendingOperations.Operation]) {
        var loops: [ObjectIdentifier: (loop: any EventLoop, deliveries: [(client: any QueueClient, replies: [QueueReply])])] = [:]
        var clientSlots: [ObjectIdentifier: (loop: ObjectIdentifier, index: Int)] = [:]
        for (operation, reply) in zip(batch, replies) {
            let clientID = ObjectIdentifier(operation.client)
            if let slot = clientSlots[clientID] {
                loops[slot.loop]!.deliveries[slot.index].replies.append(reply)
                continue
            }
            let loop = operation.client.eventLoop
            let loopID = ObjectIdentifier(loop)
            let index = loops[loopID, default: (loop, [])].deliveries.count
            loops[loopID, default: (loop, [])].deliveries.append((operation.client, [reply]))
            clientSlots[clientID] = (loopID, index)
        }
        for (_, group) in loops {
            let deliveries = group.deliveries
            group.loop.execute {
                for delivery in deliveries {
                    delivery.client.deliver(delivery.replies)
                }
            }
        }
    }

    private static func needsRecovery(_ error: any Error) -> Bool {
        (error as? BerkeleyDBError)?.needsRecovery ?? false
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? BerkeleyDBError {
            return error.isOutOfSpace ? "no space left on the disk" : error.message
        }
        return "\(error)"
    }

    private static func seconds(from start: DispatchTime, to end: DispatchTime) -> Double {
        Double(end.uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// Lets `shutdown()` wait for the database thread to finish.
private final class StopSignal: Sendable {
    private let state = NIOLockedValueBox<(isSignalled: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func signal() {
        let waiters = self.state.withLockedValue { state in
            state.isSignalled = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = self.state.withLockedValue { state in
                if !state.isSignalled {
                    state.waiters.append(continuation)
                }
                return state.isSignalled
            }
            if resumeNow {
                continuation.resume()
            }
        }
    }
}

