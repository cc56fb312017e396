import NIOConcurrencyHelpers
import NIOCore

/// A connection as the registry sees it: something that can be asked to finish and close.
protocol QuiescableConnection: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// Stops taking new commands, answers those in flight, then closes. Called on `eventLoop`.
    func quiesce()
}

/// The live connections: admission under `--max-clients`, client ids, and graceful shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var nextID = 1
        /// Admitted connections; nil until the connection has registered itself.
        var connections: [Int: (any QuiescableConnection)?] = [:]
        var isQuiescing = false
        var drained: EventLoopPromise<Void>?
    }

    private let state = NIOLockedValueBox(State())
    let maximumConnections: Int

    init(maximumConnections: Int) {
        self.maximumConnections = maximumConnections
    }

    var count: Int { self.state.withLockedValue { $0.connections.count } }

    /// Admits a new connection and gives it an id, or nil when `--max-clients` are connected.
    func admit() -> Int? {
        self.state.withLockedValue { state in
            guard state.connections.count < self.maximumConnections, !state.isQuiescing else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.connections[id] = .some(nil)
            return id
        }
    }

    /// Records the handler of an admitted connection, so shutdown can reach it.
    func register(_ id: Int, _ connection: any QuiescableConnection) {
        let quiesceNow = self.state.withLockedValue { state -> Bool in
            state.connections[id] = connection
            return state.isQuiescing
        }
        if quiesceNow {
            connection.quiesce()
        }
    }

    func remove(_ id: Int) {
        let drained = self.state.withLockedValue { state -> EventLoopPromise<Void>? in
            state.connections.removeValue(forKey: id)
            guard state.connections.isEmpty, let drained = state.drained else { return nil }
            state.drained = nil
            return drained
        }
        drained?.succeed()
    }

    /// Asks every connection to finish and close; completes when all have closed.
    func quiesceAll(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let (connections, drained) = self.state.withLockedValue { state -> ([any QuiescableConnection], EventLoopFuture<Void>) in
            state.isQuiescing = true
            if state.connections.isEmpty {
                return ([], eventLoop.makeSucceededVoidFuture())
            }
            let promise = state.drained ?? eventLoop.makePromise()
            state.drained = promise
            return (state.connections.values.compactMap { $0 }, promise.futureResult)
        }
        for connection in connections {
            connection.eventLoop.execute { connection.quiesce() }
        }
        return drained
    }
}
