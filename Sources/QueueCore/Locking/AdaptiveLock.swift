#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex that spins briefly before it sleeps, for critical sections of a microsecond or less.
///
/// Under pipelined load every event loop takes the lock of the same hot queue many times a
/// millisecond. A plain mutex (`NIOLock`) puts the loser to sleep and wakes it through the kernel,
/// two system calls and a context switch for a wait far shorter than either; glibc's adaptive
/// mutex spins a bounded number of times first, and sleeps only when the holder stays longer.
public final class AdaptiveLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        self.mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        #if canImport(Glibc)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        #endif
        let code = pthread_mutex_init(self.mutex, &attributes)
        precondition(code == 0, "pthread_mutex_init failed: \(code)")
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(self.mutex)
        self.mutex.deallocate()
    }

    @inline(__always)
    public func lock() {
        let code = pthread_mutex_lock(self.mutex)
        precondition(code == 0, "pthread_mutex_lock failed: \(code)")
    }

    @inline(__always)
    public func unlock() {
        let code = pthread_mutex_unlock(self.mutex)
        precondition(code == 0, "pthread_mutex_unlock failed: \(code)")
    }

    @inline(__always)
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        self.lock()
        defer { self.unlock() }
        return try body()
    }
}

/// A value behind an ``AdaptiveLock``.
public final class AdaptiveLockedBox<Value>: @unchecked Sendable {
    private let lock = AdaptiveLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    @inline(__always)
    public func withLockedValue<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try self.lock.withLock { try body(&self.value) }
    }
}
