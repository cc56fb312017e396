import NIOCore

/// A message handed to a waiting client, to be delivered outside every lock.
struct Handoff {
    var waiter: Waiter
    var message: Message
}

/// A message a client took aside (memcached `q/open`) until it acknowledges or aborts it.
struct Reservation: Sendable {
    var id: Int
    var message: Message
    /// Returns the message to its queue after `--reserve-timeout`.
    var expiry: Scheduled<Void>?
}

/// Blocking commands and reservations.
///
/// A waiter sits in the waiter list of each queue it watches, under that queue's lock; a push
/// serves waiters in the order they started waiting, one message each, under the same lock, so no
/// push can slip between a waiter's check and its registration. The message reaches the client
/// through ``QueueClient/deliver(_:)`` outside every lock; if the client is gone by then, the
/// message returns to the head of its queue.
extension RAMQueueProcessor {
    /// Registers `waiter` on its queues and answers later: with a message, or nil at `timeout`.
    func wait(_ waiter: Waiter, timeout: TimeAmount?) -> QueueReply? {
        let client = waiter.client
        self.waiting.withLockedValue { $0[ObjectIdentifier(client)] = waiter }
        registration: for name in waiter.queues {
            while true {
                guard let queue = self.queue(named: name, creating: true) else {
                    // No room for another queue: this one cannot be waited on.
                    if waiter.claim() {
                        self.waiting.withLockedValue { $0[ObjectIdentifier(client)] = nil }
                        self.forget(waiter)
                        return .failure(.tooManyQueues)
                    }
                    return nil
                }
                let handoffs = queue.withLock { state -> [Handoff]? in
                    guard !state.isRetired else { return nil }
                    guard !waiter.isClaimed else { return [] }
                    state.waiters.append(waiter)
                    // A push may have come since the first try: serve in order, this waiter last.
                    return self.serveWaiters(&state)
                }
                guard let handoffs else { continue }  // left the registry meanwhile: look again
                for handoff in handoffs {
                    self.complete(handoff, from: queue.name)
                }
                if waiter.isClaimed {
                    break registration
                }
                break
            }
        }
        if let timeout, !waiter.isClaimed {
            waiter.setTimer(
                client.eventLoop.scheduleTask(in: timeout) {
                    guard waiter.claim() else { return }
                    self.waiting.withLockedValue { waiting in
                        if waiting[ObjectIdentifier(client)] === waiter {
                            waiting[ObjectIdentifier(client)] = nil
                        }
                    }
                    self.forget(waiter)
                    client.deliver([.message(nil)])
                }
            )
        }
        return nil
    }

    /// Hands the queue's messages to its waiters, first come first served (under its lock).
    /// A peek waiter is served without taking its message.
    func serveWaiters(_ state: inout RAMQueue.State) -> [Handoff] {
        var handoffs: [Handoff] = []
        let before = (count: state.messages.count, bytes: state.messages.contentBytes)
        while state.messages.count > 0, let waiter = state.waiters.first {
            state.waiters.removeFirst()
            guard waiter.claim() else { continue }  // served through another queue, or timed out
            if case .peek = waiter.purpose {
                handoffs.append(Handoff(waiter: waiter, message: state.messages.peek(at: .head)!))
                continue
            }
            handoffs.append(Handoff(waiter: waiter, message: state.messages.pop(from: waiter.end)!))
        }
        self.bookRemovals(from: &state, before: before)
        return handoffs
    }

    /// Finishes a waiter that got its message: moves it, reserves it, or just delivers it.
    func complete(_ handoff: Handoff, from name: ByteBuffer) {
        let waiter = handoff.waiter
        let message = handoff.message
        let client = waiter.client
        waiter.cancelTimer()
        self.waiting.withLockedValue { waiting in
            if waiting[ObjectIdentifier(client)] === waiter {
                waiting[ObjectIdentifier(client)] = nil
            }
        }
        self.forget(waiter, except: name)
        switch waiter.purpose {
        case .pop:
            let end = waiter.end
            client.eventLoop.execute {
                if !client.deliver([.popped(queue: name, message: message)]) {
                    self.putBack(message, on: name, at: end)
                }
            }
        case .move(let destination, let end):
            _ = self.push([message], to: destination, at: end, onlyIfAbsent: false, overLimit: true)
            client.eventLoop.execute { client.deliver([.message(message)]) }
        case .reserve:
            let id = self.openReservation(message, on: name, for: client)
            client.eventLoop.execute {
                if !client.deliver([.message(message)]) {
                    self.closeReservation(id: id, on: name, for: client)
                }
            }
        case .peek:
            client.eventLoop.execute { client.deliver([.message(message)]) }
        }
    }

    /// Takes `waiter` out of the waiter lists of its queues (but `except`), retiring idle ones.
    func forget(_ waiter: Waiter, except skipped: ByteBuffer? = nil) {
        for name in waiter.queues where name != skipped {
            guard let queue = self.queue(named: name) else { continue }
            queue.withLock { state in
                state.waiters.removeAll { $0 === waiter }
            }
            self.retireIfIdle(queue)
        }
    }

    /// Returns a message that did not reach its client to the end of its queue it came from
    /// (unless the queue is unique and holds an equal message by now).
    func putBack(_ message: Message, on name: ByteBuffer, at end: QueueEnd = .head) {
        _ = self.push([message], to: name, at: end, onlyIfAbsent: false, overLimit: true)
    }

    // MARK: Reservations

    func reserve(_ name: ByteBuffer, for client: any QueueClient, waitingAtMost wait: TimeAmount?) -> QueueReply? {
        let id = ObjectIdentifier(client)
        guard self.reservations.withLockedValue({ $0[id]?[name] }) == nil else {
            return .failure(.reservationAlreadyOpen)
        }
        if let message = self.popOne(from: name, at: .head) {
            self.openReservation(message, on: name, for: client)
            return .message(message)
        }
        guard let wait else { return .message(nil) }
        return self.wait(Waiter(client: client, purpose: .reserve, end: .head, queues: [name]), timeout: wait)
    }

    @discardableResult
    func openReservation(_ message: Message, on name: ByteBuffer, for client: any QueueClient) -> Int {
        let id = self.nextReservationID.add(1, ordering: .relaxed).oldValue
        let expiry = self.configuration.reservationTimeout.map { timeout in
            client.eventLoop.scheduleTask(in: timeout) {
                self.closeReservation(id: id, on: name, for: client)
            }
        }
        let name = name.ownCopy()
        self.reservations.withLockedValue { reservations in
            reservations[ObjectIdentifier(client), default: [:]][name] = Reservation(id: id, message: message, expiry: expiry)
        }
        return id
    }

    /// Closes the client's reservation on `name`: acknowledged, or with its message put back.
    ///
    /// - Returns: Whether a reservation was open.
    func closeReservation(on name: ByteBuffer, for client: any QueueClient, returningMessage: Bool) -> Bool {
        guard let reservation = self.takeReservation(on: name, for: client, id: nil) else { return false }
        reservation.expiry?.cancel()
        if returningMessage {
            self.putBack(reservation.message, on: name)
        }
        return true
    }

    /// Returns reservation `id` to its queue if it is still open (its time is up, or it never
    /// reached its client).
    func closeReservation(id: Int, on name: ByteBuffer, for client: any QueueClient) {
        guard let reservation = self.takeReservation(on: name, for: client, id: id) else { return }
        reservation.expiry?.cancel()
        self.putBack(reservation.message, on: name)
    }

    private func takeReservation(on name: ByteBuffer, for client: any QueueClient, id: Int?) -> Reservation? {
        self.reservations.withLockedValue { reservations in
            let clientID = ObjectIdentifier(client)
            guard let reservation = reservations[clientID]?[name], id == nil || reservation.id == id else { return nil }
            reservations[clientID]![name] = nil
            if reservations[clientID]!.isEmpty {
                reservations[clientID] = nil
            }
            return reservation
        }
    }
}
