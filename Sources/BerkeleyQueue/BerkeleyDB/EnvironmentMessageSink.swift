import CBerkeleyDB
import Logging

/// Where Berkeley DB's own messages go: its error callback (`set_errcall`) and its informational
/// callback (`set_msgcall`) both land here, are logged, and the latest error text is kept so that the
/// next thrown `BerkeleyDBError` can carry it as `details`.
///
/// Berkeley DB's callbacks take no context pointer, so the environment stores an unretained pointer
/// to its sink in `DB_ENV->app_private`; the `Environment` keeps the sink alive until after
/// `DB_ENV->close` has returned, so the pointer is valid whenever Berkeley DB can call back.
/// Used only from the thread that owns the environment.
final class EnvironmentMessageSink {
    /// The logger Berkeley DB's messages are forwarded to.
    let logger: Logger

    /// Error text reported since the last `takeDetails()`; capped so that a stream of messages
    /// nobody collects cannot grow without bound.
    private var pendingDetails: String?
    private static let detailsLimit = 2048

    init(logger: Logger) {
        self.logger = logger
    }

    /// Records and logs one error message from Berkeley DB.
    func reportError(_ message: String) {
        logger.warning("Berkeley DB: \(message)")
        if let pending = pendingDetails, pending.utf8.count + message.utf8.count < Self.detailsLimit {
            pendingDetails = pending + "; " + message
        } else {
            pendingDetails = message
        }
    }

    /// Logs one informational message from Berkeley DB (verbose output, statistics).
    func reportInformation(_ message: String) {
        logger.info("Berkeley DB: \(message)")
    }

    /// The error text Berkeley DB reported since the last call, which is then forgotten.
    func takeDetails() -> String? {
        defer { pendingDetails = nil }
        return pendingDetails
    }

    /// Forgets the pending error text, if any.
    @inline(__always)
    func discardDetails() {
        if pendingDetails != nil { pendingDetails = nil }
    }

    /// Installs both callbacks on `environment` and points its `app_private` at `self` (unretained).
    func install(on environment: UnsafeMutablePointer<DB_ENV>) {
        environment.pointee.app_private = Unmanaged.passUnretained(self).toOpaque()
        environment.pointee.set_errcall(environment, environmentErrorCallback)
        environment.pointee.set_msgcall(environment, environmentMessageCallback)
    }

    /// The sink installed on `environment`, if any.
    static func sink(of environment: UnsafePointer<DB_ENV>?) -> EnvironmentMessageSink? {
        guard let raw = environment?.pointee.app_private else { return nil }
        return Unmanaged<EnvironmentMessageSink>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// `set_errcall` target: `(environment, error prefix, message)`; C code cannot capture context.
private func environmentErrorCallback(
    _ environment: UnsafePointer<DB_ENV>?, _ prefix: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?
) {
    guard let message, let sink = EnvironmentMessageSink.sink(of: environment) else { return }
    sink.reportError(String(cString: message))
}

/// `set_msgcall` target: `(environment, message)`.
private func environmentMessageCallback(_ environment: UnsafePointer<DB_ENV>?, _ message: UnsafePointer<CChar>?) {
    guard let message, let sink = EnvironmentMessageSink.sink(of: environment) else { return }
    sink.reportInformation(String(cString: message))
}
