#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// Where a ``KeyValueCache`` reads the time: whole seconds since the Unix epoch, which is
/// memcached's own resolution for expiry and `flush_all` delays.
public protocol KeyValueCacheClock: Sendable {
    /// The current time in whole seconds since 1970-01-01 UTC.
    var secondsSinceEpoch: Int64 { get }
}

/// The wall clock (`time(2)`, a vDSO call on Linux: no system call per operation).
public struct KeyValueCacheSystemClock: KeyValueCacheClock {
    /// Creates the wall clock.
    public init() {}

    /// The current Unix time in whole seconds.
    public var secondsSinceEpoch: Int64 { Int64(time(nil)) }
}

/// A clock that moves only when told to: for tests of expiry and delayed `flush_all`.
public final class KeyValueCacheManualClock: KeyValueCacheClock {
    private let seconds: NIOLockedValueBox<Int64>

    /// Creates a clock that reads `secondsSinceEpoch` until moved.
    public init(secondsSinceEpoch: Int64 = 1_700_000_000) {
        self.seconds = NIOLockedValueBox(secondsSinceEpoch)
    }

    /// The time this clock was last set to.
    public var secondsSinceEpoch: Int64 { self.seconds.withLockedValue { $0 } }

    /// Moves the clock forward (or back, for a negative `seconds`).
    public func advance(by seconds: Int64) {
        self.seconds.withLockedValue { $0 += seconds }
    }

    /// Sets the clock to `secondsSinceEpoch`.
    public func set(to secondsSinceEpoch: Int64) {
        self.seconds.withLockedValue { $0 = secondsSinceEpoch }
    }
}
