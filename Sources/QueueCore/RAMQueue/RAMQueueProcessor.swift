import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Queues held in RAM: FIFO, unique by default, bounded by `--memory-limit`.
///
/// Queues are found through a registry sharded by name; each queue has its own lock, taken after
/// its shard's lock when both are needed. A queue exists while it holds messages (SPEC §2); its
/// object leaves the registry once it holds none and nobody waits on it, so an abandoned name
/// costs nothing. Commands are answered at once, except blocking ones that must wait for a push.
public final class RAMQueueProcessor: QueueProcessor {
    public struct Configuration: Sendable {
        /// Let a queue hold equal messages (`--allow-duplicates`).
        public var allowsDuplicates: Bool
        /// Bytes of messages and their bookkeeping the queues may hold (`--memory-limit`).
        public var memoryLimit: Int?
        /// How many queues may exist at once (`--max-queues`).
        public var maximumQueues: Int?
        /// How long a reservation may stay unacknowledged (`--reserve-timeout`); nil: until its
        /// client disconnects.
        public var reservationTimeout: TimeAmount?

        public init(
            allowsDuplicates: Bool = false,
            memoryLimit: Int? = nil,
            maximumQueues: Int? = nil,
            reservationTimeout: TimeAmount? = nil
        ) {
            self.allowsDuplicates = allowsDuplicates
            self.memoryLimit = memoryLimit
            self.maximumQueues = maximumQueues
            self.reservationTimeout = reservationTimeout
        }
    }

    /// What one message is charged against the memory limit beyond its bytes: its 24-byte slot,
    /// its share of the index and its allocation headers.
    static let chargePerMessage = 48

    public let configuration: Configuration
    private let shards: [AdaptiveLockedBox<[ByteBuffer: RAMQueue]>]
    private let chargedBytes = Atomic<Int>(0)
    /// Queues holding at least one message: what DBSIZE counts.
    private let existingQueues = Atomic<Int>(0)
    /// The waiter of each client blocked right now (a client blocks on one command at a time).
    let waiting = NIOLockedValueBox<[ObjectIdentifier: Waiter]>([:])
    /// Each client's reservations, by queue name.
    let reservations = NIOLockedValueBox<[ObjectIdentifier: [ByteBuffer: Reservation]]>([:])
    let nextReservationID = Atomic<Int>(1)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.shards = (0..<64).map { _ in AdaptiveLockedBox([:]) }
    }

    /// Bytes currently charged against the memory limit (counted only when there is a limit:
    /// otherwise every push and pop would update one contended atomic for nothing).
    public var memoryInUse: Int { self.chargedBytes.load(ordering: .relaxed) }

    public var queueCount: Int { self.existingQueues.load(ordering: .relaxed) }

    public var waitingClients: Int { self.waiting.withLockedValue { $0.count } }

    public func execute(_ command: QueueCommand, for client: any QueueClient) -> QueueReply? {
        switch command {
        case .push(let name, let messages, let end, let onlyIfAbsent):
            return self.push(messages, to: name, at: end, onlyIfAbsent: onlyIfAbsent, for: client)
        case .pop(let name, let end, let count):
            guard let count else { return .message(self.popOne(from: name, at: end, for: client)) }
            return .messages(self.pop(from: name, at: end, count: count, for: client))
        case .length(let name):
            return .integer(self.queue(named: name)?.withLock { $0.messages.count } ?? 0)
        case .contains(let name, let members):
            let queue = self.queue(named: name)
            return .memberships(
                queue?.withLock { state in members.map { state.messages.contains($0) } }
                    ?? Array(repeating: false, count: members.count)
            )
        case .remove(let name, let members):
            return .integer(self.take(from: name, for: client) { store in members.reduce(0) { $0 + store.removeAll(equalTo: $1) } } ?? 0)
        case .removeOccurrences(let name, let member, let count):
            return .integer(
                self.take(from: name, for: client) { store in
                    store.remove(equalTo: member, limit: count == 0 ? .max : Int(clamping: count.magnitude), fromHead: count >= 0)
                } ?? 0
            )
        case .delete(let names):
            return .integer(names.reduce(0) { $0 + (self.delete(queueNamed: $1) ? 1 : 0) })
        case .exists(let names):
            return .integer(names.reduce(0) { $0 + ((self.queue(named: $1)?.withLock { $0.messages.count } ?? 0) > 0 ? 1 : 0) })
        case .queueCount:
            return .integer(self.queueCount)
        case .deleteAll:
            for queue in self.allQueues() {
                _ = self.delete(queueNamed: queue.name)
            }
            return .done
        case .names(let pattern):
            return .matchingNames(self.existingNames(), pattern: pattern)
        case .scan(let cursor, let pattern, let count):
            return .scanning(self.existingNames(), after: cursor, pattern: pattern, count: count)
        case .statistics:
            return .statistics(
                self.allQueues().compactMap { queue in
                    queue.withLock { state in
                        state.messages.count == 0 ? nil : QueueStatistics(name: queue.name, added: state.added, removed: state.removed)
                    }
                }
            )
        case .range(let name, let start, let stop):
            return .messages(
                self.queue(named: name)?.withLock { state in
                    ListPositions.range(start: start, stop: stop, count: state.messages.count).map {
                        state.messages.messages(from: $0.lowerBound, through: $0.upperBound)
                    } ?? []
                } ?? []
            )
        case .element(let name, let index):
            return .message(
                self.queue(named: name)?.withLock { state in
                    ListPositions.element(index, count: state.messages.count).flatMap {
                        state.messages.messages(from: $0, through: $0).first
                    }
                } ?? nil
            )
        case .move(let source, let destination, let from, let to):
            return .message(self.move(from: source, at: from, to: destination, at: to))
        case .blockingPop(let names, let end, let timeout):
            for name in names {
                if let message = self.popOne(from: name, at: end) {
                    return .popped(queue: name, message: message)
                }
            }
            return self.wait(Waiter(client: client, purpose: .pop, end: end, queues: names), timeout: timeout)
        case .blockingMove(let source, let destination, let from, let to, let timeout):
            if let message = self.move(from: source, at: from, to: destination, at: to) {
                return .message(message)
            }
            let waiter = Waiter(client: client, purpose: .move(destination: destination, to: to), end: from, queues: [source])
            return self.wait(waiter, timeout: timeout)
        case .reserve(let name, let wait):
            return self.reserve(name, for: client, waitingAtMost: wait)
        case .acknowledge(let name):
            return .integer(self.closeReservation(on: name, for: client, returningMessage: false) ? 1 : 0)
        case .abort(let name):
            return .integer(self.closeReservation(on: name, for: client, returningMessage: true) ? 1 : 0)
        case .peek(let name, let wait):
            if let message = self.queue(named: name)?.withLock({ $0.messages.peek(at: .head) }) {
                return .message(message)
            }
            guard let wait else { return .message(nil) }
            return self.wait(Waiter(client: client, purpose: .peek, end: .head, queues: [name]), timeout: wait)
        }
    }

    public func clientDisconnected(_ client: any QueueClient) {
        let id = ObjectIdentifier(client)
        if let waiter = self.waiting.withLockedValue({ $0.removeValue(forKey: id) }), waiter.claim() {
            waiter.cancelTimer()
            self.forget(waiter)
        }
        let held = self.reservations.withLockedValue { $0.removeValue(forKey: id) } ?? [:]
        for (name, reservation) in held {
            reservation.expiry?.cancel()
            self.putBack(reservation.message, on: name)
        }
    }

    public func shutdown() async throws {}

    // MARK: Commands

    /// Pushes `messages` and hands them to waiting clients first in line.
    ///
    /// - Parameters:
    ///   - overLimit: Whether the memory limit may be exceeded: a message that only comes back (an
    ///     aborted reservation) must never be refused.
    ///   - client: The client whose command this is, called on its event loop; it remembers the
    ///     queue (see ``queue(named:creating:rememberedBy:)``).
    func push(
        _ messages: [Message],
        to name: ByteBuffer,
        at end: QueueEnd,
        onlyIfAbsent: Bool,
        overLimit: Bool = false,
        for client: (any QueueClient)? = nil
    ) -> QueueReply {
        let charge = self.configuration.memoryLimit == nil ? 0 : messages.reduce(0) { $0 + self.charge(for: $1) }
        if charge > 0 {
            let charged = self.chargedBytes.add(charge, ordering: .relaxed).newValue
            if !overLimit, let limit = self.configuration.memoryLimit, charged > limit {
                self.release(charge)
                return .failure(.outOfMemory)
            }
        }
        let unique = !self.configuration.allowsDuplicates || onlyIfAbsent
        while true {
            guard let queue = self.queue(named: name, creating: true, rememberedBy: client) else {
                self.release(charge)
                return .failure(.tooManyQueues)
            }
            let outcome = queue.withLock { state -> (added: Int, length: Int, kept: Int, handoffs: [Handoff], isIdle: Bool)? in
                guard !state.isRetired else { return nil }
                let before = state.messages.count
                var added = 0
                var kept = 0
                // By index: a for-in loop would copy (retain) every message it hands out.
                for index in messages.indices where state.messages.push(messages[index], at: end, unique: unique) {
                    added += 1
                    kept += self.charge(for: messages[index])
                }
                state.added += added
                state.chargedBytes += kept
                let length = state.messages.count
                let handoffs = self.serveWaiters(&state)
                self.noteTransition(from: before, to: state.messages.count)
                return (added, length, kept, handoffs, state.isIdle)
            }
            guard let outcome else {  // left the registry meanwhile: look again
                client?.recentQueue = nil
                continue
            }
            self.release(charge - outcome.kept)
            if outcome.isIdle {
                self.retire(queue)
            }
            for handoff in outcome.handoffs {
                self.complete(handoff, from: queue.name)
            }
            return .pushed(added: outcome.added, length: outcome.length)
        }
    }

    /// Takes up to `count` messages from `end` of a queue.
    func pop(from name: ByteBuffer, at end: QueueEnd, count: Int, for client: (any QueueClient)? = nil) -> [Message] {
        guard count > 0 else { return [] }
        return self.take(from: name, for: client) { messages in
            var taken: [Message] = []
            while taken.count < count, let message = messages.pop(from: end) {
                taken.append(message)
            }
            return taken
        } ?? []
    }

    /// Takes the message at `end` of a queue, if any: ``pop(from:at:count:)`` without an array.
    ///
    /// With `client`, the message's bytes go into the client's ``QueueClient/withMessageBuffer(_:)``, which
    /// the next pop reuses if the caller has let go of the message by then (a reply written at once).
    func popOne(from name: ByteBuffer, at end: QueueEnd, for client: (any QueueClient)? = nil) -> Message? {
        guard let client else { return self.take(from: name) { $0.pop(from: end) } ?? nil }
        return client.withMessageBuffer { buffer in
            self.take(from: name, for: client) { $0.pop(from: end, reusing: &buffer) } ?? nil
        }
    }

    /// Takes a message from one end of `source` and pushes it onto `destination`.
    private func move(from source: ByteBuffer, at from: QueueEnd, to destination: ByteBuffer, at to: QueueEnd) -> Message? {
        guard let message = self.popOne(from: source, at: from) else { return nil }
        _ = self.push([message], to: destination, at: to, onlyIfAbsent: false, overLimit: true)
        return message
    }

    /// Runs `removal` on a queue's messages under its lock and books what it took out; nil when
    /// the queue does not exist. `client` remembers the queue, as in ``push(_:to:at:onlyIfAbsent:overLimit:for:)``.
    private func take<Taken>(
        from name: ByteBuffer,
        for client: (any QueueClient)? = nil,
        _ removal: (inout MessageStore) -> Taken
    ) -> Taken? {
        while true {
            guard let queue = self.queue(named: name, rememberedBy: client) else { return nil }
            let outcome = queue.withLock { state -> (taken: Taken, isIdle: Bool)? in
                guard !state.isRetired else { return nil }
                let before = (count: state.messages.count, bytes: state.messages.contentBytes)
                let taken = removal(&state.messages)
                self.bookRemovals(from: &state, before: before)
                return (taken, state.isIdle)
            }
            guard let outcome else {  // left the registry meanwhile: look again
                client?.recentQueue = nil
                continue
            }
            if outcome.isIdle {
                self.retire(queue)
            }
            return outcome.taken
        }
    }

    private func delete(queueNamed name: ByteBuffer) -> Bool {
        guard let queue = self.queue(named: name) else { return false }
        let emptied = queue.takeMessages()
        self.release(emptied.chargedBytes)
        self.noteTransition(from: emptied.messages.count, to: 0)
        self.retireIfIdle(queue)
        return emptied.messages.count > 0  // the messages are freed here, outside every lock
    }

    // MARK: Accounting

    func charge(for message: Message) -> Int {
        self.configuration.memoryLimit == nil ? 0 : message.bytes.readableBytes + Self.chargePerMessage
    }

    private func release(_ bytes: Int) {
        if bytes != 0 {
            self.chargedBytes.subtract(bytes, ordering: .relaxed)
        }
    }

    /// Books what left a queue since it held `before.count` messages of `before.bytes` bytes
    /// (under its lock): the counter, the memory charge, DBSIZE.
    func bookRemovals(from state: inout RAMQueue.State, before: (count: Int, bytes: Int)) {
        let removed = before.count - state.messages.count
        state.removed += removed
        if state.chargedBytes > 0 {
            let freed = before.bytes - state.messages.contentBytes + removed * Self.chargePerMessage
            state.chargedBytes -= freed
            self.release(freed)
        }
        self.noteTransition(from: before.count, to: state.messages.count)
    }

    /// Keeps DBSIZE's count as a queue fills from empty or empties (under the queue's lock).
    private func noteTransition(from before: Int, to after: Int) {
        if before == 0 && after > 0 {
            self.existingQueues.add(1, ordering: .relaxed)
        } else if before > 0 && after == 0 {
            self.existingQueues.subtract(1, ordering: .relaxed)
        }
    }

    // MARK: Registry

    private func shard(for name: ByteBuffer) -> AdaptiveLockedBox<[ByteBuffer: RAMQueue]> {
        // A cheap spread of the name; the dictionary inside does the real (seeded) hashing.
        var mix: UInt = UInt(truncatingIfNeeded: name.readableBytes)
        name.withUnsafeReadableBytes { bytes in
            for byte in bytes.prefix(16) {
                mix = mix &* 31 &+ UInt(byte)
            }
        }
        return self.shards[Int(mix & UInt(self.shards.count - 1))]
    }

    /// The queue object called `name`; with `creating`, a new empty one if there is none and the
    /// queue limit allows it.
    ///
    /// With `client`, the client's ``QueueClient/recentQueue`` is tried first and then set to what
    /// the registry gave: a client that sticks to one queue skips the shard lock and the hashing.
    /// A remembered queue may have left the registry since, so the caller must check `isRetired`
    /// under the queue's lock, and forget it and look again if set.
    func queue(named name: ByteBuffer, creating: Bool = false, rememberedBy client: (any QueueClient)? = nil) -> RAMQueue? {
        guard let client else { return self.registeredQueue(named: name, creating: creating) }
        if let recent = client.recentQueue as? RAMQueue, recent.name == name {
            return recent
        }
        let queue = self.registeredQueue(named: name, creating: creating)
        client.recentQueue = queue
        return queue
    }

    private func registeredQueue(named name: ByteBuffer, creating: Bool) -> RAMQueue? {
        self.shard(for: name).withLockedValue { queues in
            if let queue = queues[name] {
                return queue
            }
            guard creating else { return nil }
            if let maximum = self.configuration.maximumQueues, self.existingQueues.load(ordering: .relaxed) >= maximum {
                return nil
            }
            let queue = RAMQueue(name: name)
            queues[queue.name] = queue
            return queue
        }
    }

    /// Takes a queue with no message and nobody waiting out of the registry, unless that changed.
    func retireIfIdle(_ queue: RAMQueue) {
        if queue.withLock({ $0.isIdle }) {
            self.retire(queue)
        }
    }

    /// ``retireIfIdle(_:)`` for a queue just seen idle under its lock: one lock round fewer on
    /// the push and pop paths, which see the state anyway.
    private func retire(_ queue: RAMQueue) {
        self.shard(for: queue.name).withLockedValue { queues in
            guard queues[queue.name] === queue else { return }
            let retired = queue.withLock { state in
                guard state.isIdle else { return false }
                state.isRetired = true
                return true
            }
            if retired {
                queues.removeValue(forKey: queue.name)
            }
        }
    }

    private func allQueues() -> [RAMQueue] {
        self.shards.flatMap { shard in shard.withLockedValue { Array($0.values) } }
    }

    private func existingNames() -> [ByteBuffer] {
        self.allQueues().filter { queue in queue.withLock { $0.messages.count > 0 } }.map(\.name)
    }
}
