#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The time of day, for TIME, INFO and memcached `stats` (monotonic time comes from NIODeadline).
enum WallClock {
    static func now() -> (seconds: Int64, microseconds: Int64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int64(now.tv_sec), Int64(now.tv_nsec) / 1000)
    }
}
