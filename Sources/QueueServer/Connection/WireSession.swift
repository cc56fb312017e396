import NIOCore
import QueueCore

/// The protocol-specific half of a connection: it decodes requests, dispatches them, and renders
/// the replies a processor gives later. ``Connection`` does everything else.
protocol WireSession: SendableMetatype {
    associatedtype Decoder: NIOSingleStepByteToMessageDecoder
    /// What a reply the processor still owes needs in order to be rendered when it comes.
    associatedtype PendingReply

    init(server: ServerContext)

    var decoder: Decoder { get set }

    /// Handles one request: replies through `connection.reply`, runs processor commands through
    /// `connection.execute`, and may ask the connection to close.
    mutating func handle(_ request: Decoder.InboundOut, on connection: Connection<Self>)

    /// Renders a processor's reply to a command handled earlier.
    static func render(_ reply: QueueReply, for pending: PendingReply, into output: inout ByteBuffer)

    /// The reply to input the decoder rejected; the connection closes after it.
    static func writeDecodingError(_ error: any Error, into output: inout ByteBuffer)

    /// The reply to a client refused because `--max-clients` are connected.
    static var tooManyClientsReply: StaticString { get }
}
