import NIOCore
import Synchronization

/// Server-wide counters for INFO and `stats`: relaxed atomics, bumped once per read batch or write
/// (side by side, so a read's updates share one cache line).
final class ServerStatistics: Sendable {
    let startTime = NIODeadline.now()
    let startWallClock = WallClock.now().seconds
    let connectionsAccepted = Atomic<Int>(0)
    let connectionsRejected = Atomic<Int>(0)
    let commandsProcessed = Atomic<Int>(0)
    let bytesRead = Atomic<Int>(0)
    let bytesWritten = Atomic<Int>(0)
    /// memcached's `auth_cmds` and `auth_errors` (`--auth-file`).
    let authenticationCommands = Atomic<Int>(0)
    let authenticationErrors = Atomic<Int>(0)

    /// memcached's `stats reset`: the counters start again from 0 (the connections open stay).
    func reset() {
        self.connectionsAccepted.store(0, ordering: .relaxed)
        self.connectionsRejected.store(0, ordering: .relaxed)
        self.commandsProcessed.store(0, ordering: .relaxed)
        self.bytesRead.store(0, ordering: .relaxed)
        self.bytesWritten.store(0, ordering: .relaxed)
        self.authenticationCommands.store(0, ordering: .relaxed)
        self.authenticationErrors.store(0, ordering: .relaxed)
    }

    var uptimeSeconds: Int64 {
        (NIODeadline.now() - self.startTime).nanoseconds / 1_000_000_000
    }
}
