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
            /// Messages taken from `end` of `queue` for the client never reached it: back where
            /// they came from, in their order.
            case putBack(queue: ByteBuffer, messages: [Message], end: QueueEnd)
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
    /// Deliveries handed to event loops whose refusal may still bring work back.
    private var deliveriesInFlight = 0

    /// Whether the database thread has something to do: work, or a stop with nothing left that
    /// could still come back. Guarded by `condition`.
    private var isReady: Bool {
        !self.operations.isEmpty || (self.isStopping && self.deliveriesInFlight == 0)
    }

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
    /// - Returns: The operations (possibly none), whether a stop was asked for, and whether
    ///   every delivery has settled (so that, once stopping, nothing more can come).
    func take(
        upToMessages maximumMessages: Int,
        waitingAtMost seconds: Double,
        reusing drained: inout [Operation]
    ) -> (operations: [Operation], isStopping: Bool, deliveriesSettled: Bool) {
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
        let settled = self.deliveriesInFlight == 0
        self.condition.unlock(withValue: self.isReady)
        return (taken, isStopping, settled)
    }

    /// Whether work (or a stop) waits to be taken: ``take(upToMessages:waitingAtMost:reusing:)``
    /// then returns without waiting.
    var hasWork: Bool { self.condition.value }

    /// Refuses new operations; those already queued are still taken, and so is what deliveries
    /// still in flight bring back.
    func stop() {
        self.condition.lock()
        self.isStopping = true
        self.condition.unlock(withValue: self.isReady)
    }

    // MARK: Deliveries

    /// Notes `count` deliveries on their way to event loops. A stop waits for them to settle: a
    /// client that is gone by the time its reply arrives gives its messages back, and that work
    /// must still be done (a message handed to a client closed by shutdown is not lost).
    func deliveriesStarted(_ count: Int) {
        guard count > 0 else { return }
        self.condition.lock()
        self.deliveriesInFlight += count
        self.condition.unlock(withValue: self.isReady)
    }

    /// Settles one delivery started with ``deliveriesStarted(_:)``, queueing what it brought back
    /// (even while stopping).
    func deliverySettled(returning work: [Operation]) {
        self.condition.lock()
        self.deliveriesInFlight -= 1
        self.operations.append(contentsOf: work)
        self.condition.unlock(withValue: self.isReady)
    }
}
