import NIOConcurrencyHelpers
import NIOCore
import QueueCore

/// Commands waiting for the database thread. Event loops append; the database thread takes
/// everything pending at once, which is what lets one transaction and one log flush serve many
/// clients.
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
            switch command {
            case .push(_, let messages, _, _): return max(1, messages.count)
            case .pop(_, _, let count): return max(1, count ?? 1)
            case .remove(_, let members), .contains(_, let members): return max(1, members.count)
            default: return 1
            }
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

    /// Takes everything pending, waiting up to `seconds` for something to arrive.
    ///
    /// - Returns: The operations (possibly none) and whether a stop was asked for.
    func takeAll(waitingAtMost seconds: Double, reusing drained: inout [Operation]) -> (operations: [Operation], isStopping: Bool) {
        drained.removeAll(keepingCapacity: true)
        if !self.condition.lock(whenValue: true, timeoutSeconds: seconds) {
            self.condition.lock()
        }
        var taken = drained
        swap(&taken, &self.operations)
        drained = []
        let isStopping = self.isStopping
        self.condition.unlock(withValue: isStopping)
        return (taken, isStopping)
    }

    /// Refuses new operations; those already queued are still taken.
    func stop() {
        self.condition.lock()
        self.isStopping = true
        self.condition.unlock(withValue: true)
    }
}
