import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Queues held in RAM: FIFO, unique by default, bounded by `--memory-limit`.
///
/// Queues are found through a registry sharded by name; each queue has its own lock, taken after
/// its shard's lock when both are needed. A queue leaves the registry as soon as it is empty, so
/// it "disappears when empty" as SPEC §2 says and an abandoned name costs nothing. Every command
/// is answered at once.
public final class RAMQueueProcessor: QueueProcessor {
    public struct Configuration: Sendable {
        /// Let a queue hold equal messages (`--allow-duplicates`).
        public var allowsDuplicates: Bool
        /// Bytes of messages and their bookkeeping the queues may hold (`--memory-limit`).
        public var memoryLimit: Int?
        /// How many queues may exist at once (`--max-queues`).
        public var maximumQueues: Int?

        public init(allowsDuplicates: Bool = false, memoryLimit: Int? = nil, maximumQueues: Int? = nil) {
            self.allowsDuplicates = allowsDuplicates
            self.memoryLimit = memoryLimit
            self.maximumQueues = maximumQueues
        }
    }

    /// What one message is charged against the memory limit beyond its bytes: its slot, its share
    /// of the index and its allocation headers.
    static let chargePerMessage = 40

    public let configuration: Configuration
    private let shards: [NIOLockedValueBox<[ByteBuffer: RAMQueue]>]
    private let chargedBytes = Atomic<Int>(0)
    private let registeredQueues = Atomic<Int>(0)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.shards = (0..<64).map { _ in NIOLockedValueBox([:]) }
    }

    /// Bytes currently charged against the memory limit (counted only when there is a limit:
    /// otherwise every push and pop would update one contended atomic for nothing).
    public var memoryInUse: Int { self.chargedBytes.load(ordering: .relaxed) }

    public var queueCount: Int { self.registeredQueues.load(ordering: .relaxed) }

    public func execute(_ command: QueueCommand, for client: any QueueClient) -> QueueReply? {
        switch command {
        case .push(let name, let messages, let end, let onlyIfAbsent):
            return self.push(messages, to: name, at: end, onlyIfAbsent: onlyIfAbsent)
        case .pop(let name, let end, let count):
            let popped = self.pop(from: name, at: end, count: count ?? 1)
            return count == nil ? .message(popped.first) : .messages(popped)
        case .length(let name):
            return .integer(self.queue(named: name)?.withLock { $0.messages.count } ?? 0)
        case .contains(let name, let members):
            let queue = self.queue(named: name)
            return .memberships(
                queue?.withLock { state in members.map { state.messages.contains($0) } }
                    ?? Array(repeating: false, count: members.count)
            )
        case .remove(let name, let members):
            return .integer(self.remove(members, from: name))
        case .delete(let names):
            return .integer(names.reduce(0) { $0 + (self.delete(queueNamed: $1) ? 1 : 0) })
        case .exists(let names):
            return .integer(names.reduce(0) { $0 + (self.queue(named: $1) == nil ? 0 : 1) })
        case .queueCount:
            return .integer(self.registeredQueues.load(ordering: .relaxed))
        case .deleteAll:
            self.deleteAll()
            return .done
        case .names(let pattern):
            let glob = pattern.map(GlobPattern.init)
            return .names(self.allQueues().map(\.name).filter { glob?.matches($0) ?? true })
        case .scan(let cursor, let pattern, let count):
            let page = QueueNameScan.page(
                of: self.allQueues().lazy.map(\.name),
                after: cursor,
                matching: pattern.map(GlobPattern.init),
                count: count
            )
            return .scanPage(cursor: page.cursor, names: page.names)
        case .statistics:
            return .statistics(
                self.allQueues().compactMap { queue in
                    queue.withLock { state in
                        state.isRetired ? nil : QueueStatistics(name: queue.name, added: state.added, removed: state.removed)
                    }
                }
            )
        }
    }

    public func clientDisconnected(_ client: any QueueClient) {}

    public func shutdown() async throws {}

    // MARK: Commands

    private func push(_ messages: [Message], to name: ByteBuffer, at end: QueueEnd, onlyIfAbsent: Bool) -> QueueReply {
        var charge = 0
        if let limit = self.configuration.memoryLimit {
            charge = messages.reduce(0) { $0 + $1.bytes.readableBytes + Self.chargePerMessage }
            if self.chargedBytes.add(charge, ordering: .relaxed).newValue > limit {
                self.chargedBytes.subtract(charge, ordering: .relaxed)
                return .failure(.outOfMemory)
            }
        }
        let unique = !self.configuration.allowsDuplicates || onlyIfAbsent
        while true {
            guard let queue = self.queue(named: name, creating: true) else {
                self.release(charge)
                return .failure(.tooManyQueues)
            }
            let outcome = queue.withLock { state -> (added: Int, length: Int, kept: Int)? in
                guard !state.isRetired else { return nil }
                var added = 0
                var kept = 0
                for message in messages where state.messages.push(message, at: end, unique: unique) {
                    added += 1
                    kept += charge == 0 ? 0 : message.bytes.readableBytes + Self.chargePerMessage
                }
                state.added += added
                state.chargedBytes += kept
                return (added, state.messages.count, kept)
            }
            guard let outcome else { continue }  // emptied and retired meanwhile: look again
            self.release(charge - outcome.kept)
            if outcome.length == 0 {
                self.retireIfEmpty(queue)
            }
            return .pushed(added: outcome.added, length: outcome.length)
        }
    }

    private func pop(from name: ByteBuffer, at end: QueueEnd, count: Int) -> [Message] {
        while true {
            guard count > 0, let queue = self.queue(named: name) else { return [] }
            let outcome = queue.withLock { state -> (messages: [Message], freed: Int, isEmpty: Bool)? in
                guard !state.isRetired else { return nil }
                var messages: [Message] = []
                var freed = 0
                while messages.count < count, let message = state.messages.pop(from: end) {
                    messages.append(message)
                }
                if state.chargedBytes > 0 {
                    freed = messages.reduce(0) { $0 + $1.bytes.readableBytes + Self.chargePerMessage }
                }
                state.removed += messages.count
                state.chargedBytes -= freed
                return (messages, freed, state.messages.count == 0)
            }
            guard let outcome else { continue }
            self.release(outcome.freed)
            if outcome.isEmpty {
                self.retireIfEmpty(queue)
            }
            return outcome.messages
        }
    }

    private func remove(_ members: [ByteBuffer], from name: ByteBuffer) -> Int {
        guard let queue = self.queue(named: name) else { return 0 }
        let outcome = queue.withLock { state -> (removed: Int, freed: Int, isEmpty: Bool) in
            guard !state.isRetired else { return (0, 0, false) }
            var removed = 0
            var freed = 0
            for member in members {
                let copies = state.messages.removeAll(equalTo: member)
                removed += copies
                if state.chargedBytes > 0 {
                    freed += copies * (member.readableBytes + Self.chargePerMessage)
                }
            }
            state.removed += removed
            state.chargedBytes -= freed
            return (removed, freed, state.messages.count == 0)
        }
        self.release(outcome.freed)
        if outcome.isEmpty {
            self.retireIfEmpty(queue)
        }
        return outcome.removed
    }

    private func delete(queueNamed name: ByteBuffer) -> Bool {
        let removed = self.shard(for: name).withLockedValue { $0.removeValue(forKey: name) }
        guard let removed else { return false }
        self.registeredQueues.subtract(1, ordering: .relaxed)
        let state = removed.retire()
        self.release(state.chargedBytes)
        return true  // `state` and its messages are freed here, outside every lock
    }

    private func deleteAll() {
        for shard in self.shards {
            let queues = shard.withLockedValue { queues in
                defer { queues = [:] }
                return queues
            }
            for queue in queues.values {
                self.registeredQueues.subtract(1, ordering: .relaxed)
                let state = queue.retire()
                self.release(state.chargedBytes)
            }
        }
    }

    private func release(_ bytes: Int) {
        if bytes != 0 {
            self.chargedBytes.subtract(bytes, ordering: .relaxed)
        }
    }

    // MARK: Registry

    private func shard(for name: ByteBuffer) -> NIOLockedValueBox<[ByteBuffer: RAMQueue]> {
        // A cheap spread of the name; the dictionary inside does the real (seeded) hashing.
        var mix: UInt = UInt(truncatingIfNeeded: name.readableBytes)
        name.withUnsafeReadableBytes { bytes in
            for byte in bytes.prefix(16) {
                mix = mix &* 31 &+ UInt(byte)
            }
        }
        return self.shards[Int(mix & UInt(self.shards.count - 1))]
    }

    /// The live queue called `name`; with `creating`, a new empty one if there is none and the
    /// queue limit allows it.
    private func queue(named name: ByteBuffer, creating: Bool = false) -> RAMQueue? {
        self.shard(for: name).withLockedValue { queues in
            if let queue = queues[name] {
                return queue
            }
            guard creating else { return nil }
            let count = self.registeredQueues.add(1, ordering: .relaxed).newValue
            if let maximum = self.configuration.maximumQueues, count > maximum {
                self.registeredQueues.subtract(1, ordering: .relaxed)
                return nil
            }
            let queue = RAMQueue(name: name)
            queues[queue.name] = queue
            return queue
        }
    }

    /// Takes an emptied queue out of the registry, unless it filled up again meanwhile.
    private func retireIfEmpty(_ queue: RAMQueue) {
        self.shard(for: queue.name).withLockedValue { queues in
            guard queues[queue.name] === queue else { return }
            let retired = queue.withLock { state in
                guard state.messages.count == 0 else { return false }
                state.isRetired = true
                return true
            }
            if retired {
                queues.removeValue(forKey: queue.name)
                self.registeredQueues.subtract(1, ordering: .relaxed)
            }
        }
    }

    private func allQueues() -> [RAMQueue] {
        self.shards.flatMap { shard in shard.withLockedValue { Array($0.values) } }
    }
}
