#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// An exclusive lock on the data directory: recovery runs at every open, so a second server on
/// the same directory would wreck the first one's environment. Held until the environment is
/// closed (or the process exits).
final class DataDirectoryLock: Sendable {
    private let descriptor: Int32
    private let isHeld = NIOLockedValueBox(true)

    init(directory: String) throws {
        let path = directory + "/LOCK"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DiskQueueError.dataDirectory("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw DiskQueueError.dataDirectory("\(directory) is in use by another server")
        }
        self.descriptor = descriptor
    }

    func release() {
        let wasHeld = self.isHeld.withLockedValue { isHeld in
            defer { isHeld = false }
            return isHeld
        }
        if wasHeld {
            flock(self.descriptor, LOCK_UN)
            close(self.descriptor)
        }
    }

    deinit {
        self.release()
    }
}

/// Why the disk queue could not start.
public enum DiskQueueError: Error, CustomStringConvertible {
    case dataDirectory(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .dataDirectory(let reason): "data directory: \(reason)"
        case .corrupt(let reason): "the data directory holds something unexpected: \(reason)"
        }
    }
}
