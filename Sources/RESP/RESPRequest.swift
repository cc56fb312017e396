import ASCIIBytes
import NIOCore

/// One client request: a command name and its arguments, still in the receive buffer.
///
/// The decoder validates the whole frame once and hands it over as a single slice, so decoding
/// allocates nothing; ``arguments(into:)`` later cuts the arguments out as slices of that frame.
public struct RESPRequest: Sendable, Equatable {
    /// Every argument as `$<length>\r\n<bytes>\r\n`, already validated by the decoder.
    @usableFromInline
    let frame: ByteBuffer

    /// The number of arguments, the command name included (at least 1).
    public let count: Int

    @inlinable
    init(frame: ByteBuffer, count: Int) {
        self.frame = frame
        self.count = count
    }

    /// Creates a request from its arguments, the command name first (for tests and inline commands).
    public init<Arguments: Sequence>(arguments: Arguments) where Arguments.Element == ByteBuffer {
        var frame = ByteBuffer()
        var count = 0
        for var argument in arguments {
            frame.writeInteger(UInt8(ascii: "$"))
            frame.writeDecimal(argument.readableBytes)
            frame.writeStaticString("\r\n")
            frame.writeBuffer(&argument)
            frame.writeStaticString("\r\n")
            count += 1
        }
        precondition(count > 0, "a request has at least a command name")
        self.init(frame: frame, count: count)
    }

    /// Replaces the contents of `argv` with the arguments, each a slice of the receive buffer.
    ///
    /// Reusing one array per connection keeps the hot path free of allocations.
    @inlinable
    public func arguments(into argv: inout [ByteBuffer]) {
        argv.removeAll(keepingCapacity: true)
        // Slices cut at offsets, not read off a copy of the frame: a copy costs a reference
        // count round trip on every request.
        var offset = self.frame.readerIndex
        for _ in 0..<self.count {
            let bulk = self.frame.validatedBulkBounds(at: offset)
            argv.append(self.frame.getSlice(at: bulk.start, length: bulk.length)!)
            offset = bulk.start + bulk.length + 2
        }
    }
}

extension ByteBuffer {
    /// Where the bytes of the `$<length>\r\n<bytes>\r\n` at `offset` are; the decoder has already
    /// checked its shape.
    @inlinable
    func validatedBulkBounds(at offset: Int) -> (start: Int, length: Int) {
        self.withUnsafeReadableBytes { bytes in
            var length = 0
            var index = offset - self.readerIndex + 1  // skip "$"
            while bytes[index] != UInt8(ascii: "\r") {
                length = length &* 10 &+ Int(bytes[index] &- UInt8(ascii: "0"))
                index += 1
            }
            return (self.readerIndex + index + 2, length)
        }
    }
}
