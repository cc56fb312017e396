import DequeModule
import Dispatch
import NIOCore
import QueueCore

/// The clients waiting on disk queues and the reservations they hold: database thread only.
///
/// A value type on purpose: a transaction that fails is undone by restoring the copy taken before
/// it (cheap, as its collections are copy-on-write and rarely change).
struct WaitingRoom {
    final class Waiter {
        let client: any QueueClient
        let purpose: WaitPurpose
        let end: QueueEnd
        let queues: [ByteBuffer]
        let deadline: DispatchTime?

        init(client: any QueueClient, purpose: WaitPurpose, end: QueueEnd, queues: [ByteBuffer], deadline: DispatchTime?) {
            self.client = client
            self.purpose = purpose
            self.end = end
            self.queues = queues.map { $0.ownCopy() }
            self.deadline = deadline
        }
    }

    struct Reservation {
        var id: UInt64
        var client: any QueueClient
        /// When `--reserve-timeout` returns it to its queue.
        var deadline: DispatchTime?
    }

    /// Waiters of each queue, in the order they started waiting.
    private(set) var waitersByQueue: [ByteBuffer: Deque<Waiter>] = [:]
    /// The waiter of each client (a client waits on one command at a time).
    private(set) var waiterByClient: [ObjectIdentifier: Waiter] = [:]
    private(set) var reservations: [ObjectIdentifier: [ByteBuffer: Reservation]] = [:]
    private var nextReservationID: UInt64 = 1

    var waitingClients: Int { self.waiterByClient.count }

    var isEmpty: Bool { self.waiterByClient.isEmpty && self.reservations.isEmpty }

    mutating func add(_ waiter: Waiter) {
        self.waiterByClient[ObjectIdentifier(waiter.client)] = waiter
        for name in waiter.queues {
            self.waitersByQueue[name, default: []].append(waiter)
        }
    }

    mutating func remove(_ waiter: Waiter) {
        let id = ObjectIdentifier(waiter.client)
        if self.waiterByClient[id] === waiter {
            self.waiterByClient[id] = nil
        }
        for name in waiter.queues {
            self.waitersByQueue[name]?.removeAll { $0 === waiter }
            if self.waitersByQueue[name]?.isEmpty == true {
                self.waitersByQueue[name] = nil
            }
        }
    }

    func firstWaiter(on name: ByteBuffer) -> Waiter? {
        self.waitersByQueue[name]?.first
    }

    func waiter(of client: any QueueClient) -> Waiter? {
        self.waiterByClient[ObjectIdentifier(client)]
    }

    // MARK: Reservations

    mutating func newReservationID() -> UInt64 {
        defer { self.nextReservationID += 1 }
        return self.nextReservationID
    }

    func reservation(of client: any QueueClient, on name: ByteBuffer) -> Reservation? {
        self.reservations[ObjectIdentifier(client)]?[name]
    }

    mutating func addReservation(_ reservation: Reservation, on name: ByteBuffer) {
        self.reservations[ObjectIdentifier(reservation.client), default: [:]][name.ownCopy()] = reservation
    }

    mutating func removeReservation(of client: any QueueClient, on name: ByteBuffer) -> Reservation? {
        let id = ObjectIdentifier(client)
        guard let reservation = self.reservations[id]?.removeValue(forKey: name) else { return nil }
        if self.reservations[id]?.isEmpty == true {
            self.reservations[id] = nil
        }
        return reservation
    }

    mutating func forgetReservations() {
        self.reservations = [:]
    }

    mutating func removeReservations(of client: any QueueClient) -> [ByteBuffer: Reservation] {
        self.reservations.removeValue(forKey: ObjectIdentifier(client)) ?? [:]
    }

    // MARK: Time

    /// The soonest moment a wait or a reservation runs out.
    var nextDeadline: DispatchTime? {
        let waits = self.waiterByClient.values.compactMap(\.deadline)
        let holds = self.reservations.values.flatMap { $0.values.compactMap(\.deadline) }
        return (waits + holds).min()
    }

    /// Waiters whose time is up.
    func expiredWaiters(at now: DispatchTime) -> [Waiter] {
        self.waiterByClient.values.filter { ($0.deadline.map { $0 <= now }) ?? false }
    }

    /// Reservations whose time is up, with their queue.
    func expiredReservations(at now: DispatchTime) -> [(queue: ByteBuffer, reservation: Reservation)] {
        self.reservations.values.flatMap { held in
            held.compactMap { name, reservation in
                (reservation.deadline.map { $0 <= now } ?? false) ? (name, reservation) : nil
            }
        }
    }
}
