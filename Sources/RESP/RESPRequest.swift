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
        var frame = self.frame
        for _ in 0..<self.count {
            argv.append(frame.readValidatedBulk())
        }
    }

    /// The command name (the first argument).
    @inlinable
    public var name: ByteBuffer {
        var frame = self.frame
        return frame.readValidatedBulk()
    }
}

extension ByteBuffer {
    /// Reads one `$<length>\r\n<bytes>\r\n` whose shape the decoder has already checked.
    @inlinable
    mutating func readValidatedBulk() -> ByteBuffer {
        let length = self.withUnsafeReadableBytes { bytes -> (value: Int, headerLength: Int) in
            var value = 0
            var index = 1  // skip "$"
            while bytes[index] != UInt8(ascii: "\r") {
                value = value &* 10 &+ Int(bytes[index] &- UInt8(ascii: "0"))
                index += 1
            }
            return (value, index + 2)
        }
        self.moveReaderIndex(forwardBy: length.headerLength)
        let bulk = self.readSlice(length: length.value)!
        self.moveReaderIndex(forwardBy: 2)
        return bulk
    }
}
