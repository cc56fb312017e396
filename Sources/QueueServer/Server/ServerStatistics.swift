import NIOCore
import Synchronization

/// Server-wide counters for INFO and `stats`: relaxed atomics, bumped once per read batch.
final class ServerStatistics: Sendable {
    let startTime = NIODeadline.now()
    let startWallClock = WallClock.now().seconds
    let connectionsAccepted = Atomic<Int>(0)
    let connectionsRejected = Atomic<Int>(0)
    let commandsProcessed = Atomic<Int>(0)

    var uptimeSeconds: Int64 {
        (NIODeadline.now() - self.startTime).nanoseconds / 1_000_000_000
    }
}
