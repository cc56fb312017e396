import ASCIIBytes
import NIOCore

/// The reply protocol a connection speaks: RESP2 until the client sends `HELLO 3`.
public enum RESPVersion: Int, Sendable {
    case v2 = 2
    case v3 = 3
}

/// RESP reply writers: each writes one reply (or an aggregate header) straight into the buffer.
extension ByteBuffer {
    @inlinable
    mutating func writeRESPHeader(_ type: UInt8, _ value: Int) {
        self.writeInteger(type)
        self.writeDecimal(value)
        self.writeStaticString("\r\n")
    }

    /// `:<value>\r\n`
    @inlinable
    public mutating func writeRESPInteger(_ value: Int) {
        self.writeRESPHeader(UInt8(ascii: ":"), value)
    }

    /// `$<length>\r\n<bytes>\r\n`
    @inlinable
    public mutating func writeRESPBulk(_ bytes: ByteBuffer) {
        self.writeRESPHeader(UInt8(ascii: "$"), bytes.readableBytes)
        self.writeImmutableBuffer(bytes)
        self.writeStaticString("\r\n")
    }

    /// A bulk string holding `text`.
    @inlinable
    public mutating func writeRESPBulk(_ text: String) {
        self.writeRESPHeader(UInt8(ascii: "$"), text.utf8.count)
        self.writeString(text)
        self.writeStaticString("\r\n")
    }

    /// A bulk string holding `value` in decimal (Redis's `addReplyBulkLongLong`).
    @inlinable
    public mutating func writeRESPBulk(decimal value: Int) {
        self.writeRESPHeader(UInt8(ascii: "$"), ASCIIDecimal.digitCount(UInt64(value.magnitude)) + (value < 0 ? 1 : 0))
        self.writeDecimal(value)
        self.writeStaticString("\r\n")
    }

    /// `+<text>\r\n`; `text` must not contain CR or LF.
    @inlinable
    public mutating func writeRESPSimpleString(_ text: String) {
        self.writeInteger(UInt8(ascii: "+"))
        self.writeString(text)
        self.writeStaticString("\r\n")
    }

    /// `-<code> <message>\r\n`, with CR and LF in `message` replaced by spaces as Redis does.
    ///
    /// - Parameters:
    ///   - code: The error code clients match on: `ERR`, `WRONGPASS`, `NOAUTH`, `OOM`, ...
    public mutating func writeRESPError(code: StaticString = "ERR", _ message: String) {
        self.writeInteger(UInt8(ascii: "-"))
        self.writeStaticString(code)
        self.writeInteger(UInt8(ascii: " "))
        for byte in message.utf8 {
            self.writeInteger(byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") ? UInt8(ascii: " ") : byte)
        }
        self.writeStaticString("\r\n")
    }

    /// `-ERR <message>\r\n` for a message of raw bytes (it may quote what a client sent),
    /// with CR and LF replaced by spaces.
    public mutating func writeRESPError(message: ByteBuffer) {
        self.writeStaticString("-ERR ")
        message.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                self.writeInteger(byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") ? UInt8(ascii: " ") : byte)
            }
        }
        self.writeStaticString("\r\n")
    }

    /// The null reply: `$-1\r\n` in RESP2, `_\r\n` in RESP3.
    @inlinable
    public mutating func writeRESPNull(_ version: RESPVersion) {
        switch version {
        case .v2: self.writeStaticString("$-1\r\n")
        case .v3: self.writeStaticString("_\r\n")
        }
    }

    /// The null array (a blocking pop that timed out): `*-1\r\n` in RESP2, `_\r\n` in RESP3.
    @inlinable
    public mutating func writeRESPNullArray(_ version: RESPVersion) {
        switch version {
        case .v2: self.writeStaticString("*-1\r\n")
        case .v3: self.writeStaticString("_\r\n")
        }
    }

    /// `*<count>\r\n`
    @inlinable
    public mutating func writeRESPArrayHeader(_ count: Int) {
        self.writeRESPHeader(UInt8(ascii: "*"), count)
    }

    /// A set header: `~<count>\r\n` in RESP3, an array header in RESP2.
    @inlinable
    public mutating func writeRESPSetHeader(_ count: Int, _ version: RESPVersion) {
        self.writeRESPHeader(version == .v3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), count)
    }

    /// A map header: `%<pairs>\r\n` in RESP3, an array of `2 × pairs` elements in RESP2.
    @inlinable
    public mutating func writeRESPMapHeader(_ pairs: Int, _ version: RESPVersion) {
        switch version {
        case .v2: self.writeRESPHeader(UInt8(ascii: "*"), pairs * 2)
        case .v3: self.writeRESPHeader(UInt8(ascii: "%"), pairs)
        }
    }

    /// Free text (INFO, CLIENT INFO): a verbatim string `=<length>\r\ntxt:<text>\r\n` in RESP3,
    /// a bulk string in RESP2.
    public mutating func writeRESPVerbatimText(_ text: String, _ version: RESPVersion) {
        switch version {
        case .v2:
            self.writeRESPBulk(text)
        case .v3:
            self.writeRESPHeader(UInt8(ascii: "="), text.utf8.count + 4)
            self.writeStaticString("txt:")
            self.writeString(text)
            self.writeStaticString("\r\n")
        }
    }
}
