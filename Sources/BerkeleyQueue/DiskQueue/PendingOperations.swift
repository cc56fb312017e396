import NIOConcurrencyHelpers
import NIOCore
import QueueCore

/// Commands waiting for the database thread. Event loops append; the database thread takes
/// what is pending in rounds of many operations, which is what lets one transaction and one log
/// flush serve many clients.
final class PendingOperations: @unchecked Sendable {
    struct Operation {
        /// What to do for `client`.
        enum Work {
            case command(QueueCommand)
            /// The client's connection closed: end its wait, return its reservations.
            case disconnected
            /// A message handed to the client never reached it: back to the head of its queue.
            case putBack(queue: ByteBuffer, message: Message)
            /// Reservation `id` never reached the client, or its time is up: back to its queue.
            case returnReservation(queue: ByteBuffer, id: UInt64)
            /// The client's wait ran out.
            case waitExpired
        }

        var work: Work
        var client: any QueueClient

        /// About how many messages the work touches, at least one.
        var messageCount: Int {
            guard case .command(let command) = self.work else { return 1 }
            return command.messageCount
        }
    }

    /// The lock's value: whether there is something for the database thread (work, or a stop).
    private let condition = ConditionLock(value: false)
    // Guarded by `condition`.
    private var operations: [Operation] = []
    private var spare: [Operation] = []
    private var isStopping = false

    /// Queues an operation; false once stopping.
    func append(_ operation: Operation) -> Bool {
        self.condition.lock()
        guard !self.isStopping else {
            self.condition.unlock()
            return false
        }
        self.operations.append(operation)
        self.condition.unlock(withValue: true)
        return true
    }

    /// Takes what is pending, oldest first, up to about `maximumMessages` messages of work (at
    /// least one operation), waiting up to `seconds` for something to arrive.
    ///
    /// Bounding a round keeps a client that queued a flood of work from holding back the replies
    /// of everything taken with it: the rest waits for the next round, and replies flow meanwhile.
    ///
    /// - Returns: The operations (possibly none) and whether a stop was asked for.
    func take(
        upToMessages maximumMessages: Int,
        waitingAtMost seconds: Double,
        reusing drained: inout [Operation]
    ) -> (operations: [Operation], isStopping: Bool) {
        drained.removeAll(keepingCapacity: true)
        if !self.condition.lock(whenValue: true, timeoutSeconds: seconds) {
            self.condition.lock()
        }
        var count = 0
        var messages = 0
        while count < self.operations.count && messages < maximumMessages {
            messages += self.operations[count].messageCount
            count += 1
        }
        var taken = drained
        if count == self.operations.count {
            swap(&taken, &self.operations)
        } else {
            taken.append(contentsOf: self.operations[..<count])
            self.operations.removeFirst(count)
        }
        drained = []
        let isStopping = self.isStopping
        self.condition.unlock(withValue: isStopping || !self.operations.isEmpty)
        return (taken, isStopping)
    }

    /// Whether work (or a stop) waits to be taken: ``take(upToMessages:waitingAtMost:reusing:)``
    /// then returns without waiting.
    var hasWork: Bool { self.condition.value }

    /// Refuses new operations; those already queued are still taken.
    func stop() {
        self.condition.lock()
        self.isStopping = true
        self.condition.unlock(withValue: true)
    }
}
