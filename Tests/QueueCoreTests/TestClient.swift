import NIOCore
import NIOEmbedded
import QueueCore

/// A client that collects what a processor delivers later.
final class TestClient: QueueClient, @unchecked Sendable {
    let embeddedLoop = EmbeddedEventLoop()
    var delivered: [QueueReply] = []
    /// A client that has disconnected refuses deliveries.
    var isGone = false
    var recentQueue: AnyObject?

    var eventLoop: any EventLoop { self.embeddedLoop }

    func deliver(_ replies: [QueueReply]) -> Bool {
        guard !self.isGone else { return false }
        self.delivered += replies
        return true
    }

    /// Runs what processors handed to this client's loop; returns what it received.
    func received() -> [QueueReply] {
        self.embeddedLoop.run()
        defer { self.delivered = [] }
        return self.delivered
    }
}

extension QueueProcessor {
    /// Runs a command that must be answered at once.
    func run(_ command: QueueCommand, client: TestClient = TestClient()) -> QueueReply {
        guard let reply = self.execute(command, for: client) else {
            fatalError("\(command) was not answered at once")
        }
        return reply
    }
}

extension QueueReply {
    var integer: Int? { if case .integer(let value) = self { value } else { nil } }
    var message: Message?? { if case .message(let value) = self { .some(value) } else { nil } }
    var messages: [Message]? { if case .messages(let value) = self { value } else { nil } }
    var names: [String]? { if case .names(let value) = self { value.map { String(buffer: $0) }.sorted() } else { nil } }
    var pushed: (added: Int, length: Int)? { if case .pushed(let added, let length) = self { (added, length) } else { nil } }
    var failure: QueueError? { if case .failure(let error) = self { error } else { nil } }
    var poppedText: (queue: String, message: String)? {
        if case .popped(let queue, let message) = self { (String(buffer: queue), String(buffer: message.bytes)) } else { nil }
    }
    var messageText: String?? {
        if case .message(let message) = self { .some(message.map { String(buffer: $0.bytes) }) } else { nil }
    }
}

func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
func messages(_ texts: String...) -> [Message] { texts.map { Message(bytes: ByteBuffer(string: $0)) } }
