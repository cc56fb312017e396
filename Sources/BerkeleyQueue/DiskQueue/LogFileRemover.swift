import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Deletes the log files Berkeley DB no longer needs, off the database thread (on a serial
/// Dispatch queue of its own).
///
/// Berkeley DB's own removal (`DB_LOG_AUTO_REMOVE`) unlinks them inside the checkpoint, on the
/// database thread: here a 16 MB log file took 9-50 ms to unlink and a checkpoint during a busy
/// purge freed four or five, so every other client waited that much longer. The database thread
/// lists the files after each checkpoint and hands the list over instead.
final class LogFileRemover: Sendable {
    private let directory: String
    private let logger: Logger
    private let queue = DispatchQueue(label: "diskqueue-log-removal")

    init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Deletes `names` (relative to the data directory) soon. A name listed twice before its
    /// file is gone is deleted once.
    func remove(_ names: [String]) {
        guard !names.isEmpty else { return }
        self.queue.async { [directory, logger] in
            for name in names where unlink("\(directory)/\(name)") != 0 {
                let error = errno
                guard error != ENOENT else { continue }
                logger.warning("disk queue: could not delete the unused log file \(name): \(String(cString: strerror(error)))")
            }
        }
    }

    /// Returns once every deletion asked for so far has run.
    func finish() {
        self.queue.sync {}
    }
}
