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
    /// With `credentials`, the connection starts unauthenticated, as under memcached's `--auth-file`.
    ///
    /// The loop is the one a connection handler runs: append what arrived, decode until `nil`,
    /// and switch the decoder out of authentication mode once the credentials matched.
    static func replay(
        _ input: ByteBuffer,
        chunkSizes: [Int],
        credentials: [String: String]? = nil
    ) throws -> (output: ByteBuffer, closed: Bool) {
        var decoder = MemcacheRequestDecoder()
        decoder.requiresAuthentication = credentials != nil
        var server = MemcachedStandIn(credentials: credentials)
        var received = ByteBuffer()
        var output = ByteBuffer()
        var remaining = input
        var chunkIndex = 0
        while remaining.readableBytes > 0, !server.closed {
            let size = min(chunkSizes[min(chunkIndex, chunkSizes.count - 1)], remaining.readableBytes)
            chunkIndex += 1
            var chunk = remaining.readSlice(length: size)!
            received.writeBuffer(&chunk)
            while !server.closed, let request = try decoder.decode(buffer: &received) {
                server.answer(request, into: &output)
                decoder.requiresAuthentication = !server.isAuthenticated
            }
            received.discardReadBytes()
        }
        return (output, server.closed)
    }
}
