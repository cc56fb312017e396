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
/// each time round it takes everything pending and runs it in as few transactions as possible.
/// With `--fsync always` a ``LogFlusher`` then syncs the log once for everything committed since
/// its last sync, while this thread goes on, and only then releases the replies, grouped into one
/// task per event loop. Every command is answered later, in the order it was given.
///
/// Blocked clients and reservations live in a ``WaitingRoom`` on the same thread. A push serves
/// the waiters of its queue inside its own transaction, so their messages are as durable as any
/// pop; reservations are records in Berkeley DB, returned to their queues at start-up.
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
        /// How long a reservation may stay unacknowledged; nil: until its client disconnects.
        public var reservationTimeout: TimeAmount?
        /// Berkeley DB's page cache.
        public var cacheSize: Int

        /// The page cache unless `--memory-limit` says otherwise: room for the index of about 10M
        /// small messages, whose pages a deep queue touches at random. Memory is taken as pages
        /// are first used, so a shallow queue never grows to it.
        public static let defaultCacheSize = 1 << 30

        public init(
            directory: String,
            durability: Durability = .always,
            allowsDuplicates: Bool = false,
            maximumQueues: Int? = nil,
            reservationTimeout: TimeAmount? = nil,
            cacheSize: Int = Configuration.defaultCacheSize
        ) {
            self.directory = directory
            self.durability = durability
            self.allowsDuplicates = allowsDuplicates
            self.maximumQueues = maximumQueues
            self.reservationTimeout = reservationTimeout
            self.cacheSize = cacheSize
        }
    }

    /// Most messages touched by one transaction (a command counts its messages, at least one):
    /// bounds the pages it locks in Berkeley DB's lock table and the work lost when it fails
    /// (it is then retried command by command). A single command may exceed it.
    static let maximumMessagesPerTransaction = 2000
    /// Most messages of work taken into one round (its transactions, one log flush, then its
    /// replies): about a tenth of a second of pushes, so replies keep flowing under a flood.
    static let maximumMessagesPerRound = 16 * maximumMessagesPerTransaction
    /// Messages of a deleted queue purged per transaction, between batches of client commands.
    static let purgeSliceSize = 500
    /// Index entries the sweep visits per transaction, between batches of client commands.
    static let indexSweepSliceSize = 5000
    /// How often to ask for a checkpoint; Berkeley DB takes one only when
    /// ``checkpointLogKilobytes(databaseFileBytes:)`` of log (or a minute) has passed since the last.
    static let checkpointInterval: Double = 0.1

    /// The log written between checkpoints: 64 MiB, or a quarter of the database file when that is
    /// more. A checkpoint writes every page dirtied since the last one, and in a deep queue random
    /// pops dirty nearly every index page: with 10M messages queued, each checkpoint wrote about
    /// 0.5 GB and stalled the database thread for a second. Tying the interval to the file's size
    /// keeps those writes below four times the log, whatever the depth; a small queue keeps a small
    /// data directory. Recovery replays at most this much log.
    static func checkpointLogKilobytes(databaseFileBytes: Int) -> UInt32 {
        let bytes = max(64 << 20, databaseFileBytes / 4)
        return UInt32(clamping: bytes >> 10)
    }

    /// The longest the thread sleeps without work, so timers and flushes stay on time.
    static let idleWait: Double = 0.25
    /// How long a stop waits for replies on their way to clients (seconds).
    static let deliverySettleTimeout: Double = 10

    public let configuration: Configuration
    private let logger: Logger
    private let pending = PendingOperations()
    private let directoryLock: DataDirectoryLock
    private let queues = Atomic<Int>(0)
    private let waiters = Atomic<Int>(0)
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
        Thread.start(named: "diskqueue-db") { [self] in
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
            DatabaseThread(processor: self, store: store).run()
        }
        openedCondition.lock(whenValue: true)
        openedCondition.unlock()
        try opened.withLockedValue { $0! }.get()
    }

    public var queueCount: Int { self.queues.load(ordering: .relaxed) }

    public var waitingClients: Int { self.waiters.load(ordering: .relaxed) }

    public func execute(_ command: QueueCommand, for client: any QueueClient) -> QueueReply? {
        guard self.pending.append(.init(work: .command(command), client: client)) else {
            return .failure(.shuttingDown)
        }
        return nil
    }

    public func clientDisconnected(_ client: any QueueClient) {
        _ = self.pending.append(.init(work: .disconnected, client: client))
    }

    /// Answers what is pending, makes everything durable, checkpoints and closes the environment.
    public func shutdown() async throws {
        self.pending.stop()
        await self.stopped.wait()
    }

    /// Opens the store and puts the reservations a previous run left open back at the head of
    /// their queues (no client holds them any more).
    fileprivate func openStore() throws -> DiskQueueStore {
        var environment = EnvironmentConfiguration()
        environment.cacheSize = self.configuration.cacheSize
        // Regions in this process's memory, not in shared files: only this process ever opens the
        // environment (the directory lock sees to that), recovery works from the log alone, and
        // private regions make every Berkeley DB call cheaper.
        environment.usesPrivateRegions = true
        // Smaller log files than Berkeley DB's default let checkpoints free disk space sooner.
        environment.logFileMaxSize = 16 << 20
        // Deleted by a ``LogFileRemover`` after each checkpoint, off the database thread.
        environment.removesUnneededLogFiles = false
        let store = try DiskQueueStore(
            directory: self.configuration.directory,
            settings: .init(
                allowsDuplicates: self.configuration.allowsDuplicates,
                maximumQueues: self.configuration.maximumQueues,
                environment: environment
            ),
            logger: self.logger
        )
        let returned = try store.environment.withTransaction { transaction in
            let returned = try store.returnAllReservations(in: transaction)
            try store.writeChanges(in: transaction)
            return returned
        }
        if returned > 0 {
            try store.environment.flushLog()
            self.logger.notice("returned \(returned) unacknowledged reservations to their queues")
        }
        store.queuesGainedMessages.removeAll()
        self.queues.store(store.catalog.count, ordering: .relaxed)
        return store
    }

    // MARK: What the database thread uses

    fileprivate var pendingOperations: PendingOperations { self.pending }
    fileprivate var log: Logger { self.logger }
    fileprivate func publish(queueCount: Int, waitingClients: Int) {
        self.queues.store(queueCount, ordering: .relaxed)
        self.waiters.store(waitingClients, ordering: .relaxed)
    }
    fileprivate func finished() {
        self.directoryLock.release()
        self.logger.info("disk queue closed")
        self.stopped.signal()
    }
}

/// The database thread's loop and everything it owns: the store, the waiting room, the timers.
private final class DatabaseThread {
    typealias Operation = PendingOperations.Operation

    /// A reply for a client whose command was answered in an earlier batch (a waiter served by a
    /// push, a wait that ran out), and what to do if the client is gone by then.
    struct Handoff {
        var client: any QueueClient
        var reply: QueueReply
        var ifUndelivered: Operation.Work?
    }

    let processor: DiskQueueProcessor
    let configuration: DiskQueueProcessor.Configuration
    let logger: Logger
    var store: DiskQueueStore?
    var waiting = WaitingRoom()
    var handoffs: [Handoff] = []
    var reopenFailures = 0
    /// Syncs the log and releases replies after it (`--fsync always` only).
    let flusher: LogFlusher?
    let logFileRemover: LogFileRemover
    /// Counts the environments opened: the flusher fails what an environment whose log could not
    /// be synced committed.
    var epoch = 0

    init(processor: DiskQueueProcessor, store: DiskQueueStore) {
        self.processor = processor
        self.configuration = processor.configuration
        self.logger = processor.log
        self.store = store
        self.flusher = processor.configuration.durability == .always ? LogFlusher(directory: processor.configuration.directory) : nil
        self.logFileRemover = LogFileRemover(directory: processor.configuration.directory, logger: processor.log)
    }

    /// Every commit hands its log to the operating system at once, so a killed process loses
    /// nothing committed; syncing is the flusher's business (or once a second, or the OS's).
    private var commitDurability: CommitDurability { .writeNoSync }

    func run() {
        self.flusher?.start()
        var drained: [Operation] = []
        var lastFlush = DispatchTime.now()
        var lastCheckpoint = DispatchTime.now()
        var unflushedWrites = false
        var stopSeen: DispatchTime?
        // Purging and sweeping go on between batches, and without pause when there are none.
        var housekeepingPending = false
        while true {
            let wait = self.waiting.nextDeadline.map { max(0, Self.seconds(from: .now(), to: $0)) } ?? DiskQueueProcessor.idleWait
            let (batch, isStopping, deliveriesSettled) = self.processor.pendingOperations.take(
                upToMessages: DiskQueueProcessor.maximumMessagesPerRound,
                waitingAtMost: housekeepingPending ? 0 : min(wait, DiskQueueProcessor.idleWait),
                reusing: &drained
            )
            if let flusher = self.flusher, flusher.hasFailed(epoch: self.epoch), let failed = self.store {
                self.logger.error("disk queue: the log could not be synced; reopening the environment")
                self.store = self.reopen(after: failed)
            }
            if self.store == nil {
                self.store = self.reopen()
            }
            let timedOut = self.expiredWork(at: .now())
            let work = timedOut.isEmpty ? batch : batch + timedOut
            if !work.isEmpty {
                let wrote = self.process(work)
                unflushedWrites = unflushedWrites || (wrote && self.configuration.durability != .always)
            }
            drained = batch
            housekeepingPending = self.housekeep()
            let now = DispatchTime.now()
            if unflushedWrites && self.configuration.durability == .everySecond && Self.seconds(from: lastFlush, to: now) >= 1 {
                unflushedWrites = self.attempt("flushing the log") { try $0.environment.flushLog() } != nil
                lastFlush = now
            }
            if Self.seconds(from: lastCheckpoint, to: now) >= DiskQueueProcessor.checkpointInterval {
                // Keeps the data written into the database file, not only into the log: recovery
                // stays short, log files nothing needs any more are removed, and a full disk that
                // gets a little room back has enough to recover in.
                _ = self.attempt("checkpointing") {
                    let kilobytes = DiskQueueProcessor.checkpointLogKilobytes(databaseFileBytes: $0.databaseFileBytes)
                    try $0.environment.checkpoint(minimumKilobytes: kilobytes, minimumMinutes: 1)
                    self.logFileRemover.remove(try $0.environment.unusedLogFiles())
                }
                lastCheckpoint = now
            }
            if isStopping && batch.isEmpty {
                // Replies still on their way may bring messages back from clients shutdown closed;
                // they are waited for, but not forever (an event loop that is gone never answers).
                let since = stopSeen ?? now
                stopSeen = since
                if deliveriesSettled {
                    break
                }
                if Self.seconds(from: since, to: now) >= DiskQueueProcessor.deliverySettleTimeout {
                    self.logger.warning("disk queue: closing with replies still undelivered")
                    break
                }
            }
        }
        // The last replies go out after their sync; whatever cannot be flushed now was never
        // acknowledged, and recovery at the next start sorts it.
        self.flusher?.stop()
        _ = self.attempt("closing") { store in
            try store.environment.flushLog()
            try store.environment.checkpoint(force: true)
            self.logFileRemover.remove(try store.environment.unusedLogFiles())
            try store.close()
        }
        self.logFileRemover.finish()
        self.processor.finished()
    }

    /// Waits and reservations whose time is up, as work for this round.
    private func expiredWork(at now: DispatchTime) -> [Operation] {
        guard !self.waiting.isEmpty else { return [] }
        var work = self.waiting.expiredWaiters(at: now).map { Operation(work: .waitExpired, client: $0.client) }
        for (queue, reservation) in self.waiting.expiredReservations(at: now) {
            work.append(Operation(work: .returnReservation(queue: queue, id: reservation.id), client: reservation.client))
        }
        return work
    }

    // MARK: Batches

    /// Runs a batch: transactions of up to `maximumMessagesPerTransaction` messages, one log
    /// flush, then the replies. A transaction that fails is retried command by command, so one
    /// failing command (a full disk, say) fails alone.
    ///
    /// - Returns: Whether anything was written.
    private func process(_ batch: [Operation]) -> Bool {
        var replies: [QueueReply?] = []
        replies.reserveCapacity(batch.count)
        var wrote = false
        var start = 0
        while start < batch.count {
            var end = start + 1
            var messages = batch[start].messageCount
            while end < batch.count, messages + batch[end].messageCount <= DiskQueueProcessor.maximumMessagesPerTransaction {
                messages += batch[end].messageCount
                end += 1
            }
            wrote = self.runTransaction(batch[start..<end], replies: &replies) || wrote
            start = end
        }
        let handoffs = self.handoffs
        self.handoffs = []
        // Before the replies, so that a client that saw its push counted sees it in INFO too.
        self.processor.publish(queueCount: self.store?.catalog.count ?? 0, waitingClients: self.waiting.waitingClients)
        let pending = self.processor.pendingOperations
        // Counted from now, not from when the flusher releases them: a stop must wait for them.
        pending.deliveriesStarted(1)
        guard let flusher = self.flusher else {
            Self.deliver(replies, for: batch, then: handoffs, pending: pending)
            return wrote
        }
        flusher.submit(
            LogFlusher.Batch(wrote: wrote, epoch: self.epoch) { durable in
                guard durable else {
                    // Nothing of this batch is known to be on disk: none of it is acknowledged
                    // (and reopening the environment discards it).
                    let failure = QueueReply.failure(.storageFailure("the log could not be written to the disk"))
                    let failedHandoffs = handoffs.map { Handoff(client: $0.client, reply: failure, ifUndelivered: nil) }
                    Self.deliver(replies.map { $0 == nil ? nil : failure }, for: batch, then: failedHandoffs, pending: pending)
                    return
                }
                Self.deliver(replies, for: batch, then: handoffs, pending: pending)
            }
        )
        return wrote
    }

    private func runTransaction(_ operations: ArraySlice<Operation>, replies: inout [QueueReply?]) -> Bool {
        guard let store = self.store else {
            replies += operations.map { _ in .failure(.storageFailure("the disk store is unavailable")) }
            return false
        }
        let first = replies.count
        let waitingBefore = self.waiting
        let handoffsBefore = self.handoffs.count
        do {
            let transaction = try store.environment.beginTransaction()
            do {
                for operation in operations {
                    replies.append(try self.perform(operation, store, transaction))
                    try self.serveWaiters(store, transaction)
                }
                let wrote = store.transactionWrote
                try store.writeChanges(in: transaction)
                try transaction.commit(self.commitDurability)
                return wrote
            } catch {
                if transaction.isActive {
                    try? transaction.abort()
                }
                throw error
            }
        } catch {
            store.undoChanges()
            store.queuesGainedMessages.removeAll()
            self.waiting = waitingBefore
            self.handoffs.removeSubrange(handoffsBefore...)
            replies.removeSubrange(first...)
            self.logger.warning("a transaction of \(operations.count) commands failed: \(error)")
            if Self.needsRecovery(error) {
                self.store = self.reopen(after: store)
            }
            guard operations.count > 1, self.store != nil else {
                replies.append(.failure(.storageFailure(Self.describe(error))))
                return false
            }
            var wrote = false
            for index in operations.indices {
                wrote = self.runTransaction(operations[index...index], replies: &replies) || wrote
            }
            return wrote
        }
    }

    // MARK: Commands

    /// Runs one piece of work; nil when the reply comes later (or nobody waits for one).
    private func perform(_ operation: Operation, _ store: DiskQueueStore, _ transaction: Transaction) throws -> QueueReply? {
        let client = operation.client
        switch operation.work {
        case .command(let command):
            return try self.perform(command, for: client, store, transaction)
        case .disconnected:
            if let waiter = self.waiting.waiter(of: client) {
                self.waiting.remove(waiter)
            }
            for reservation in self.waiting.removeReservations(of: client).values {
                try store.closeReservation(id: reservation.id, returningMessage: true, in: transaction)
            }
            return nil
        case .putBack(let queue, let messages, let end):
            // Pushed in reverse, each to the end it was taken from, the first ends up outermost:
            // the queue is as it was before the pop.
            _ = try store.push(messages.reversed(), to: queue, at: end, onlyIfAbsent: false, in: transaction)
            return nil
        case .returnReservation(let queue, let id):
            guard self.waiting.reservation(of: client, on: queue)?.id == id else { return nil }
            _ = self.waiting.removeReservation(of: client, on: queue)
            try store.closeReservation(id: id, returningMessage: true, in: transaction)
            return nil
        case .waitExpired:
            guard let waiter = self.waiting.waiter(of: client), let deadline = waiter.deadline, deadline <= .now() else {
                return nil
            }
            self.waiting.remove(waiter)
            self.handoffs.append(Handoff(client: client, reply: .message(nil), ifUndelivered: nil))
            return nil
        }
    }

    private func perform(
        _ command: QueueCommand,
        for client: any QueueClient,
        _ store: DiskQueueStore,
        _ transaction: Transaction
    ) throws -> QueueReply? {
        switch command {
        case .blockingPop(let names, let end, let timeout):
            for name in names {
                if let message = try store.pop(from: name, at: end, count: 1, in: transaction).first {
                    return .popped(queue: name, message: message)
                }
            }
            self.waiting.add(.init(client: client, purpose: .pop, end: end, queues: names, deadline: Self.deadline(timeout)))
            return nil
        case .blockingMove(let source, let destination, let from, let to, let timeout):
            if case .message(let message?) = try store.execute(.move(source: source, destination: destination, from: from, to: to), in: transaction) {
                return .message(message)
            }
            let purpose = WaitPurpose.move(destination: destination.ownCopy(), to: to)
            self.waiting.add(.init(client: client, purpose: purpose, end: from, queues: [source], deadline: Self.deadline(timeout)))
            return nil
        case .reserve(let name, let wait):
            guard self.waiting.reservation(of: client, on: name) == nil else {
                return .failure(.reservationAlreadyOpen)
            }
            if let message = try self.reserve(name, for: client, store, transaction) {
                return .message(message)
            }
            guard let wait else { return .message(nil) }
            self.waiting.add(.init(client: client, purpose: .reserve, end: .head, queues: [name], deadline: Self.deadline(wait)))
            return nil
        case .acknowledge(let name), .abort(let name):
            guard let reservation = self.waiting.removeReservation(of: client, on: name) else { return .integer(0) }
            let returning: Bool
            if case .abort = command { returning = true } else { returning = false }
            try store.closeReservation(id: reservation.id, returningMessage: returning, in: transaction)
            return .integer(1)
        case .peek(let name, let wait):
            let reply = try store.execute(command, in: transaction)
            guard case .message(nil) = reply, let wait else { return reply }
            self.waiting.add(.init(client: client, purpose: .peek, end: .head, queues: [name], deadline: Self.deadline(wait)))
            return nil
        default:
            return try store.execute(command, in: transaction)
        }
    }

    private func reserve(_ name: ByteBuffer, for client: any QueueClient, _ store: DiskQueueStore, _ transaction: Transaction) throws -> Message? {
        let id = self.waiting.newReservationID()
        guard let message = try store.reserve(name, id: id, in: transaction) else { return nil }
        let deadline = Self.deadline(self.configuration.reservationTimeout)
        self.waiting.addReservation(.init(id: id, client: client, deadline: deadline), on: name)
        return message
    }

    /// Hands the messages that just arrived to the clients waiting for them, first come first
    /// served, inside the transaction that brought them.
    private func serveWaiters(_ store: DiskQueueStore, _ transaction: Transaction) throws {
        while let name = store.queuesGainedMessages.popLast() {
            serving: while let waiter = self.waiting.firstWaiter(on: name) {
                let client = waiter.client
                let handoff: Handoff
                switch waiter.purpose {
                case .pop:
                    guard let message = try store.pop(from: name, at: waiter.end, count: 1, in: transaction).first else { break serving }
                    handoff = Handoff(client: client, reply: .popped(queue: name, message: message), ifUndelivered: .putBack(queue: name, messages: [message], end: waiter.end))
                case .move(let destination, let end):
                    guard let message = try store.pop(from: name, at: waiter.end, count: 1, in: transaction).first else { break serving }
                    _ = try store.push([message], to: destination, at: end, onlyIfAbsent: false, in: transaction)
                    handoff = Handoff(client: client, reply: .message(message), ifUndelivered: nil)
                case .reserve:
                    guard let message = try self.reserve(name, for: client, store, transaction) else { break serving }
                    let id = self.waiting.reservation(of: client, on: name)!.id
                    handoff = Handoff(client: client, reply: .message(message), ifUndelivered: .returnReservation(queue: name, id: id))
                case .peek:
                    guard case .message(let message?) = try store.execute(.peek(queue: name, waitingAtMost: nil), in: transaction) else { break serving }
                    handoff = Handoff(client: client, reply: .message(message), ifUndelivered: nil)
                }
                self.waiting.remove(waiter)
                self.handoffs.append(handoff)
            }
        }
    }

    // MARK: Deliveries

    /// One client's replies, and the work that gives back what they carry if the client is gone.
    private struct Delivery {
        var client: any QueueClient
        var replies: [QueueReply]
        var ifUndelivered: [Operation.Work]
    }

    /// Hands the replies of a batch, then the handoffs, to their clients: one task per event
    /// loop, one delivery per client. A client gone by then refuses them, and the messages they
    /// carry go back to their queues, so a pop whose client vanished takes nothing.
    ///
    /// Settles the one delivery its caller started for the batch, having started one per loop.
    private static func deliver(_ replies: [QueueReply?], for batch: [Operation], then handoffs: [Handoff], pending: PendingOperations) {
        var loops: [ObjectIdentifier: (loop: any EventLoop, deliveries: [Delivery])] = [:]
        func add(_ delivery: Delivery) -> (loop: ObjectIdentifier, index: Int) {
            let loop = delivery.client.eventLoop
            let loopID = ObjectIdentifier(loop)
            let index = loops[loopID, default: (loop, [])].deliveries.count
            loops[loopID, default: (loop, [])].deliveries.append(delivery)
            return (loopID, index)
        }
        // A client's replies to this batch go in one delivery.
        var clientSlots: [ObjectIdentifier: (loop: ObjectIdentifier, index: Int)] = [:]
        for (operation, reply) in zip(batch, replies) {
            guard let reply else { continue }
            let returning = Self.returningWork(of: operation.work, replied: reply)
            let clientID = ObjectIdentifier(operation.client)
            guard let slot = clientSlots[clientID] else {
                clientSlots[clientID] = add(Delivery(client: operation.client, replies: [reply], ifUndelivered: returning.map { [$0] } ?? []))
                continue
            }
            loops[slot.loop]!.deliveries[slot.index].replies.append(reply)
            if let returning {
                loops[slot.loop]!.deliveries[slot.index].ifUndelivered.append(returning)
            }
        }
        // After the client's replies: a handoff answers a command of an earlier batch.
        for handoff in handoffs {
            _ = add(Delivery(client: handoff.client, replies: [handoff.reply], ifUndelivered: handoff.ifUndelivered.map { [$0] } ?? []))
        }
        pending.deliveriesStarted(loops.count)
        defer { pending.deliverySettled(returning: []) }
        for (_, group) in loops {
            let deliveries = group.deliveries
            group.loop.execute {
                var returned: [Operation] = []
                for delivery in deliveries where !delivery.client.deliver(delivery.replies) {
                    // Undone last first, the queues end up as they were before the client's pops.
                    returned += delivery.ifUndelivered.reversed().map { Operation(work: $0, client: delivery.client) }
                }
                pending.deliverySettled(returning: returned)
            }
        }
    }

    /// What returns the messages `reply` took out of their queue, should its client be gone:
    /// only pops take messages that nothing else holds (a move leaves them in its destination,
    /// a reservation goes back when its client's disconnection is processed).
    private static func returningWork(of work: Operation.Work, replied reply: QueueReply) -> Operation.Work? {
        guard case .command(let command) = work else { return nil }
        switch (command, reply) {
        case (.pop(let queue, let end, _), .message(let message?)):
            return .putBack(queue: queue, messages: [message], end: end)
        case (.pop(let queue, let end, _), .messages(let messages)) where !messages.isEmpty:
            return .putBack(queue: queue, messages: messages, end: end)
        case (.blockingPop(_, let end, _), .popped(let queue, let message)):
            return .putBack(queue: queue, messages: [message], end: end)
        default:
            return nil
        }
    }

    // MARK: Housekeeping

    /// A slice of purging deleted queues and one of sweeping the index, when due.
    ///
    /// - Returns: Whether more is due at once; after a failure it waits for the next round.
    private func housekeep() -> Bool {
        var failed = false
        if let store = self.store, !store.doomedQueues.isEmpty {
            failed = !self.housekeepingSlice("purging a deleted queue") { store, transaction in
                _ = try store.purgeDoomedQueue(limit: DiskQueueProcessor.purgeSliceSize, in: transaction)
            }
        }
        if let store = self.store, store.indexSweepIsDue() {
            failed = !self.housekeepingSlice("sweeping the index") { store, transaction in
                if let sweep = try store.sweepIndex(visiting: DiskQueueProcessor.indexSweepSliceSize, in: transaction) {
                    self.logger.debug(
                        "disk queue: index swept: \(sweep.deleted) stale entries of \(sweep.visited) in \(ContinuousClock.now - sweep.started)"
                    )
                }
            } || failed
        }
        guard !failed, let store = self.store else { return false }
        return !store.doomedQueues.isEmpty || store.indexSweepIsDue()
    }

    /// Runs one slice of background work in a transaction of its own, between batches of client
    /// commands.
    ///
    /// - Returns: Whether it succeeded.
    private func housekeepingSlice(_ what: String, _ body: (DiskQueueStore, Transaction) throws -> Void) -> Bool {
        let durability = self.commitDurability
        let failure = self.attempt(what) { store in
            do {
                try store.environment.withTransaction(durability: durability) { transaction in
                    try body(store, transaction)
                    try store.writeChanges(in: transaction)
                }
            } catch {
                store.undoChanges()
                throw error
            }
        }
        return failure == nil
    }

    /// Runs `body` on the store; logs a failure, and reopens the environment when the failure
    /// leaves it unusable.
    ///
    /// - Returns: The error, or nil when `body` succeeded.
    private func attempt(_ what: String, _ body: (DiskQueueStore) throws -> Void) -> (any Error)? {
        guard let current = self.store else { return DiskQueueError.dataDirectory("the disk store is unavailable") }
        do {
            try body(current)
            return nil
        } catch {
            self.logger.error("disk queue: \(what) failed: \(error)")
            if Self.needsRecovery(error) {
                self.store = self.reopen(after: current)
            }
            return error
        }
    }

    /// After Berkeley DB panicked, or could not write its log (a full disk): close what can be
    /// closed and open again. Recovery then discards every commit whose log never reached the
    /// disk: exactly those that were never acknowledged. Until opening works again (the disk has
    /// room), commands fail with an error reply; the thread retries every time round.
    private func reopen(after failed: DiskQueueStore? = nil) -> DiskQueueStore? {
        if let failed {
            try? failed.close()
        }
        do {
            let store = try self.processor.openStore()
            self.epoch += 1
            self.logger.notice("disk queue reopened after recovery")
            self.reopenFailures = 0
            // Reservations went back to their queues on reopening; nobody holds them any more.
            self.waiting.forgetReservations()
            return store
        } catch {
            // Once, then every 30 s or so: the thread retries four times a second.
            if self.reopenFailures % 120 == 0 {
                self.logger.error("disk queue: reopening failed, retrying: \(error)")
            }
            self.reopenFailures += 1
            return nil
        }
    }

    /// A Berkeley DB panic, or a disk too full to write the log: the environment must be reopened.
    private static func needsRecovery(_ error: any Error) -> Bool {
        guard let error = error as? BerkeleyDBError else { return false }
        return error.needsRecovery || error.isOutOfSpace
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? BerkeleyDBError {
            return error.isOutOfSpace ? "no space left on the disk" : error.message
        }
        return "\(error)"
    }

    private static func deadline(_ timeout: TimeAmount?) -> DispatchTime? {
        timeout.map { DispatchTime.now() + .nanoseconds(Int($0.nanoseconds)) }
    }

    private static func seconds(from start: DispatchTime, to end: DispatchTime) -> Double {
        (Double(end.uptimeNanoseconds) - Double(start.uptimeNanoseconds)) / 1e9
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
