import NIOCore

/// What a client waiting for a message will do with it, whichever processor keeps the wait.
public enum WaitPurpose: Sendable {
    /// BLPOP/BRPOP, memcached `q/t=`: take it.
    case pop
    /// BLMOVE/BRPOPLPUSH: take it and push it onto `destination`.
    case move(destination: ByteBuffer, to: QueueEnd)
    /// memcached `q/t=…/open`: take it aside as a reservation.
    case reserve
    /// memcached `q/t=…/peek`: look at it, leaving it in place.
    case peek
}
