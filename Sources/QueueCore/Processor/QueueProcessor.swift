import NIOCore

/// A store of named FIFO queues: the one API both protocols dispatch to, whether the messages
/// live in RAM or on disk.
///
/// A processor answers a command now, by returning its reply, or later, by returning `nil` and
/// handing the reply to ``QueueClient/deliver(_:)`` on the client's event loop. Replies to one
/// client always come in the order of its commands: a processor that answers a command later
/// answers that client's following commands later too, until it has delivered.
public protocol QueueProcessor: AnyObject, Sendable {
    /// Runs `command` on behalf of `client`; returns the reply, or `nil` if it comes later.
    func execute(_ command: QueueCommand, for client: any QueueClient) -> QueueReply?

    /// How many queues exist, read without waiting for commands in flight (for INFO).
    var queueCount: Int { get }

    /// How many clients are blocked waiting for a message (INFO's `blocked_clients`).
    var waitingClients: Int { get }

    /// Forgets `client` (its connection closed): its waits end and its reservations go back to
    /// their queues.
    func clientDisconnected(_ client: any QueueClient)

    /// Finishes the work in flight and makes the state durable; the processor takes no more commands.
    func shutdown() async throws
}

/// A connection, as a processor sees it.
public protocol QueueClient: AnyObject, Sendable {
    /// The event loop the client's connection runs on.
    var eventLoop: any EventLoop { get }

    /// Replies to the client's earliest unanswered commands, in order. Called on ``eventLoop``.
    ///
    /// - Returns: False when the client has gone: a message handed over in these replies (to a
    ///   blocking pop, say) never reached it and goes back to its queue.
    @discardableResult
    func deliver(_ replies: [QueueReply]) -> Bool

    /// The queue this client's last command used, kept there by the processor so the next command
    /// on it skips the registry; opaque to the client. Touched only on ``eventLoop``.
    var recentQueue: AnyObject? { get set }

    /// Runs `body` on a buffer the processor reuses for the bytes of the messages it answers this
    /// client with at once, so that such a pop allocates nothing; opaque to the client. Called only
    /// on ``eventLoop``.
    func withMessageBuffer<Result>(_ body: (inout ByteBuffer) -> Result) -> Result
}

extension QueueClient {
    /// For a client that keeps nothing: every command looks its queue up afresh.
    public var recentQueue: AnyObject? {
        get { nil }
        set {}
    }

    /// For a client that keeps nothing: every pop copies into a buffer of its own.
    public func withMessageBuffer<Result>(_ body: (inout ByteBuffer) -> Result) -> Result {
        var buffer = ByteBuffer()
        return body(&buffer)
    }
}
