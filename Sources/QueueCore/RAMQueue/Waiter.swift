import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// A client waiting for a message: a blocking pop or move, or a reservation or peek with a wait.
///
/// It sits in the waiter list of every queue it watches; whichever push gets to it first claims
/// it, so it is served exactly once, and the other lists drop it when they meet it.
final class Waiter: Sendable {
    let client: any QueueClient
    let purpose: WaitPurpose
    /// Which end of a queue it takes from.
    let end: QueueEnd
    let queues: [ByteBuffer]
    private let claimed = Atomic<Bool>(false)
    private let timer = NIOLockedValueBox<Scheduled<Void>?>(nil)

    init(client: any QueueClient, purpose: WaitPurpose, end: QueueEnd, queues: [ByteBuffer]) {
        self.client = client
        self.purpose = purpose
        self.end = end
        self.queues = queues
    }

    /// Takes the waiter for whoever calls first: a push, its timeout, or its client leaving.
    func claim() -> Bool {
        self.claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    var isClaimed: Bool { self.claimed.load(ordering: .acquiring) }

    func setTimer(_ scheduled: Scheduled<Void>) {
        self.timer.withLockedValue { $0 = scheduled }
        if self.isClaimed {
            scheduled.cancel()
        }
    }

    func cancelTimer() {
        self.timer.withLockedValue { $0 }?.cancel()
    }
}
