import MemcacheText
import NIOCore
import Testing

/// Bytes a client sent to memcached and the bytes memcached sent back.
struct Transcript: Sendable, CustomTestStringConvertible {
    let input: String
    let expectedOutput: String
    /// Whether memcached closed the connection.
    let closes: Bool

    init(_ input: String, _ expectedOutput: String, closes: Bool = false) {
        self.input = input
        self.expectedOutput = expectedOutput
        self.closes = closes
    }

    var testDescription: String {
        let shown = self.input.count > 60 ? String(self.input.prefix(60)) + "…" : self.input
        return shown.debugDescription
    }

    /// Feeds `input` to a decoder in the given chunk sizes (the last one repeats), answers each
    /// request with a ``MemcachedStandIn``, and returns what it wrote and whether it closed.
    static func replay(_ input: ByteBuffer, chunkSizes: [Int]) throws -> (output: ByteBuffer, closed: Bool) {
        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder())
        var server = MemcachedStandIn()
        var output = ByteBuffer()
        var remaining = input
        var chunkIndex = 0
        while remaining.readableBytes > 0, !server.closed {
            let size = min(chunkSizes[min(chunkIndex, chunkSizes.count - 1)], remaining.readableBytes)
            chunkIndex += 1
            let chunk = remaining.readSlice(length: size)!
            try processor.process(buffer: chunk) { request in
                guard !server.closed else { return }
                server.answer(request, into: &output)
            }
        }
        return (output, server.closed)
    }
}
