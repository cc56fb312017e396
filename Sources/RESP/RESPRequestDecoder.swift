import ASCIIBytes
import NIOCore

/// Decodes client requests: RESP multibulk frames (`*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n`) and inline
/// commands typed into `nc` (`ECHO hi\r\n`), with Redis's limits and error texts.
///
/// Returns `nil` on partial input and leaves the reader index at the start of the request; a large
/// frame that arrives in pieces is scanned once, not once per piece.
public struct RESPRequestDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPRequest

    /// Bounds on what one request may hold, so no client can make the server buffer without limit.
    public struct Limits: Sendable, Hashable {
        /// The longest argument (`--max-message-size`; Redis's `proto-max-bulk-len`).
        public var maximumBulkLength: Int
        /// The most arguments one multibulk request may carry.
        public var maximumArgumentCount: Int
        /// The longest inline command, and the longest `*`/`$` header line (Redis: 64 KiB).
        public var maximumInlineLength: Int
        /// The largest whole request (Redis's `client-query-buffer-limit`).
        public var maximumRequestLength: Int

        public init(
            maximumBulkLength: Int = 1 << 20,
            maximumArgumentCount: Int = 1 << 20,
            maximumInlineLength: Int = 64 << 10,
            maximumRequestLength: Int? = nil
        ) {
            self.maximumBulkLength = maximumBulkLength
            self.maximumArgumentCount = maximumArgumentCount
            self.maximumInlineLength = maximumInlineLength
            self.maximumRequestLength = maximumRequestLength ?? max(64 << 20, 4 * maximumBulkLength)
        }
    }

    public var limits: Limits

    /// While set, requests are held to Redis's limits for clients that have not authenticated yet:
    /// at most 10 arguments of at most 16 KiB each.
    public var requiresAuthentication = false

    /// How far a multibulk frame that has not fully arrived was scanned, relative to its first byte.
    @usableFromInline
    struct Progress {
        var argumentCount: Int
        var argumentsScanned: Int
        /// Length of the `*<count>\r\n` header.
        var headerLength: Int
        /// Offset of the first byte not yet scanned (the next `$`).
        var scannedLength: Int
    }

    @usableFromInline
    var progress: Progress?

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPRequest? {
        // Redis skips empty requests (`*0`, `*-1`, blank inline lines) without a reply.
        while let first = buffer.readableBytesView.first {
            let request: RESPRequest?
            let consumed: Int
            if first == UInt8(ascii: "*") {
                (request, consumed) = try self.scanMultibulk(buffer)
            } else {
                (request, consumed) = try Self.scanInline(buffer, limits: self.limits)
            }
            if consumed == 0 {
                return nil
            }
            buffer.moveReaderIndex(forwardBy: consumed)
            if let request {
                return request
            }
        }
        return nil
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPRequest? {
        try self.decode(buffer: &buffer)
    }

    private enum Scan {
        case needMoreData
        case empty(consumed: Int)
        case frame(Progress)
    }

    /// Scans a multibulk frame; returns the request (nil for an empty one) and the bytes it spans,
    /// or 0 consumed bytes when the frame is not complete yet.
    private mutating func scanMultibulk(_ buffer: ByteBuffer) throws -> (RESPRequest?, Int) {
        let limits = self.limits
        let requiresAuthentication = self.requiresAuthentication
        let start = self.progress
        let scan = try buffer.withUnsafeReadableBytes { bytes throws(RESPProtocolError) -> Scan in
            var progress: Progress
            if let start {
                progress = start
            } else {
                guard let line = Self.line(in: bytes, from: 1, limit: limits.maximumInlineLength) else {
                    return .needMoreData
                }
                guard case .complete(let end) = line else {
                    throw line == .tooLong ? .tooBigMultibulkCountString : .invalidMultibulkLength
                }
                guard let count = ASCIIDecimal.strictInt64(UnsafeRawBufferPointer(rebasing: bytes[1..<end])),
                    count <= limits.maximumArgumentCount
                else {
                    throw .invalidMultibulkLength
                }
                if count <= 0 {
                    return .empty(consumed: end + 2)
                }
                if requiresAuthentication && count > 10 {
                    throw .unauthenticatedMultibulkLength
                }
                progress = Progress(
                    argumentCount: Int(count),
                    argumentsScanned: 0,
                    headerLength: end + 2,
                    scannedLength: end + 2
                )
            }
            while progress.argumentsScanned < progress.argumentCount {
                let position = progress.scannedLength
                guard position < bytes.count else {
                    self.progress = progress
                    return .needMoreData
                }
                guard bytes[position] == UInt8(ascii: "$") else {
                    throw .expectedDollar(got: bytes[position])
                }
                guard let line = Self.line(in: bytes, from: position + 1, limit: limits.maximumInlineLength) else {
                    self.progress = progress
                    return .needMoreData
                }
                guard case .complete(let end) = line else {
                    throw line == .tooLong ? .tooBigBulkCountString : .invalidBulkLength
                }
                guard let length = ASCIIDecimal.strictInt64(UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<end])),
                    length >= 0, length <= limits.maximumBulkLength
                else {
                    throw .invalidBulkLength
                }
                if requiresAuthentication && length > 16384 {
                    throw .unauthenticatedBulkLength
                }
                let bulkEnd = end + 2 + Int(length) + 2
                guard bulkEnd <= limits.maximumRequestLength else {
                    throw .requestTooLarge
                }
                guard bulkEnd <= bytes.count else {
                    self.progress = progress
                    return .needMoreData
                }
                guard bytes[bulkEnd - 2] == UInt8(ascii: "\r"), bytes[bulkEnd - 1] == UInt8(ascii: "\n") else {
                    throw .missingCRLFAfterBulk
                }
                progress.scannedLength = bulkEnd
                progress.argumentsScanned += 1
            }
            return .frame(progress)
        }
        switch scan {
        case .needMoreData:
            return (nil, 0)
        case .empty(let consumed):
            return (nil, consumed)
        case .frame(let progress):
            self.progress = nil
            let frame = buffer.getSlice(
                at: buffer.readerIndex + progress.headerLength,
                length: progress.scannedLength - progress.headerLength
            )!
            return (RESPRequest(frame: frame, count: progress.argumentCount), progress.scannedLength)
        }
    }

    private enum Line: Equatable {
        /// The line's `\r` is at `end`, followed by `\n`.
        case complete(end: Int)
        /// A `\r` not followed by `\n`.
        case malformed
        /// No `\r` within the header limit.
        case tooLong
    }

    /// Finds the `\r\n` ending the header line that starts at `start`; nil while more bytes are needed.
    private static func line(in bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) -> Line? {
        guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\r")) else {
            return bytes.count - start > limit ? .tooLong : nil
        }
        guard end + 1 < bytes.count else { return nil }
        return bytes[end + 1] == UInt8(ascii: "\n") ? .complete(end: end) : .malformed
    }

    /// Scans an inline command line; returns the request (nil for a blank line) and the bytes it spans,
    /// or 0 consumed bytes when the line is not complete yet.
    private static func scanInline(_ buffer: ByteBuffer, limits: Limits) throws -> (RESPRequest?, Int) {
        try buffer.withUnsafeReadableBytes { bytes throws(RESPProtocolError) -> (RESPRequest?, Int) in
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
                if bytes.count > limits.maximumInlineLength {
                    throw .tooBigInlineRequest
                }
                return (nil, 0)
            }
            if newline > limits.maximumInlineLength {
                throw .tooBigInlineRequest
            }
            var end = newline
            if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") {
                end -= 1
            }
            let arguments = try InlineCommandSplitter.split(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
            // A bulk's bound holds inline too (SPEC §2: no message over --max-message-size);
            // Redis leaves inline arguments to its 64 KiB line limit alone.
            if arguments.contains(where: { $0.count > limits.maximumBulkLength }) {
                throw .invalidBulkLength
            }
            if arguments.isEmpty {
                return (nil, newline + 1)
            }
            return (RESPRequest(arguments: arguments.lazy.map { ByteBuffer(bytes: $0) }), newline + 1)
        }
    }
}
