import NIOCore

/// A queued message as clients see it: opaque bytes plus the 32-bit flags memcached clients store
/// with a value (to mark how it was serialised). Redis clients always see flags 0.
public struct Message: Sendable, Hashable {
    public var bytes: ByteBuffer
    public var flags: UInt32

    public init(bytes: ByteBuffer, flags: UInt32 = 0) {
        self.bytes = bytes
        self.flags = flags
    }
}

/// Which end of a queue an operation works on: pushes go to the tail and pops take the head,
/// unless a list command (LPUSH, RPOP, LMOVE ...) says otherwise.
public enum QueueEnd: Sendable, Hashable {
    case head
    case tail
}
