import ASCIIBytes
import NIOCore

/// A `get` key read as Kestrel reads it: `queue[/option]...`, options `t=<milliseconds>` (wait
/// that long for a message), `open` (reserve the head), `close` (acknowledge the reservation),
/// `abort` (return it to the head) and `peek` (look without taking); they combine, as in
/// `jobs/close/t=500/open`. A queue name therefore cannot contain `/` on the memcached programs.
struct KestrelKey {
    var queue: ByteBuffer
    /// nil when there is no `t=`, or `t=0`.
    var wait: TimeAmount?
    var opens = false
    var closes = false
    var aborts = false
    var peeks = false

    /// nil when an option is not one of Kestrel's.
    init?(_ key: ByteBuffer) {
        var parts = key.readableBytesView.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        self.queue = ByteBuffer(parts.removeFirst())
        for option in parts {
            switch Array(option) {
            case Array("open".utf8): self.opens = true
            case Array("close".utf8): self.closes = true
            case Array("abort".utf8): self.aborts = true
            case Array("peek".utf8): self.peeks = true
            case let bytes where bytes.starts(with: Array("t=".utf8)):
                guard let milliseconds = bytes.dropFirst(2).withUnsafeBytes({ ASCIIDecimal.unsignedDigits($0) }),
                    milliseconds <= UInt64(Int64.max / 1_000_000)
                else { return nil }
                self.wait = milliseconds == 0 ? nil : .milliseconds(Int64(milliseconds))
            default:
                return nil
            }
        }
    }

    /// Whether the key names a queue alone, with no option.
    static func isPlainQueueName(_ key: ByteBuffer) -> Bool {
        !key.readableBytesView.contains(UInt8(ascii: "/"))
    }
}
