import BerkeleyQueue
import Foundation
import Logging

/// A fresh directory under the system's temporary directory, removed when `body` returns.
func withTemporaryDirectory<Result>(_ body: (String) throws -> Result) throws -> Result {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("BerkeleyQueueTests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

extension EnvironmentConfiguration {
    /// Small sizes, so that many test environments side by side stay cheap.
    static var forTests: EnvironmentConfiguration {
        var configuration = EnvironmentConfiguration()
        configuration.cacheSize = 4 << 20
        configuration.logBufferSize = 256 << 10
        configuration.logFileMaxSize = 4 << 20
        return configuration
    }
}

/// An 8-byte big-endian key: bytewise order is numeric order.
func bigEndianKey(_ value: UInt64) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// A 16-byte key as the queue will use: big-endian queue id, then big-endian sequence.
func queueKey(queue: UInt64, sequence: UInt64) -> [UInt8] {
    bigEndianKey(queue) + bigEndianKey(sequence)
}

/// Reads an 8-byte big-endian integer from `bytes` at `offset`.
func bigEndianValue(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
    var value: UInt64 = 0
    for byte in bytes[offset..<offset + 8] { value = value << 8 | UInt64(byte) }
    return value
}

/// Bytes of a string, for readable values.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Keeps `object` alive forever without ever running its deinit: handles leaked this way are
/// never closed, which is what a process killed with `kill -9` leaves behind.
func leakAsIfTheProcessDied(_ object: AnyObject) {
    _ = Unmanaged.passRetained(object)
}

/// Records log messages so that tests can check what was logged.
final class LogRecorder: @unchecked Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
    }

    private let lock = NSLock()
    private var recorded: [Entry] = []

    var entries: [Entry] { lock.withLock { recorded } }

    func record(_ entry: Entry) { lock.withLock { recorded.append(entry) } }

    /// A logger whose messages (trace and up) land in this recorder.
    var logger: Logger {
        Logger(label: "test") { _ in RecordingLogHandler(recorder: self) }
    }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.record(.init(level: event.level, message: event.message.description))
    }
}
