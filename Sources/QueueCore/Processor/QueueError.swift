/// Why a processor refused a command. Protocols map each case to their own error line.
public enum QueueError: Error, Sendable, Hashable {
    /// A push would take the RAM queues past `--memory-limit`.
    case outOfMemory
    /// A push would create a queue past `--max-queues`.
    case tooManyQueues
    /// The disk store failed (for example, the disk is full); nothing acknowledged was lost.
    case storageFailure(String)
    /// The server is shutting down and takes no new work.
    case shuttingDown
    /// The client already holds a reservation on this queue (one per queue per client).
    case reservationAlreadyOpen
}
