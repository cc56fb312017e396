/// Input that is not RESP. Redis replies `-ERR Protocol error: <reason>` and closes the connection.
public struct RESPProtocolError: Error, Hashable, Sendable {
    /// The text after `Protocol error: `, worded as Redis words it where Redis has the same error.
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }

    /// The full error message, as sent after `-ERR `.
    public var message: String { "Protocol error: \(self.reason)" }

    public static let invalidMultibulkLength = Self(reason: "invalid multibulk length")
    public static let invalidBulkLength = Self(reason: "invalid bulk length")
    public static let tooBigMultibulkCountString = Self(reason: "too big mbulk count string")
    public static let tooBigBulkCountString = Self(reason: "too big bulk count string")
    public static let tooBigInlineRequest = Self(reason: "too big inline request")
    public static let unbalancedQuotes = Self(reason: "unbalanced quotes in request")
    public static let unauthenticatedMultibulkLength = Self(reason: "unauthenticated multibulk length")
    public static let unauthenticatedBulkLength = Self(reason: "unauthenticated bulk length")
    /// Redis skips the two bytes after a bulk unchecked; SPEC §3 treats a missing CRLF as malformed.
    public static let missingCRLFAfterBulk = Self(reason: "bulk data not followed by CRLF")
    /// Redis closes such a client silently (client-query-buffer-limit); we say why first.
    public static let requestTooLarge = Self(reason: "request exceeds the query buffer limit")

    static func expectedDollar(got byte: UInt8) -> Self {
        Self(reason: "expected '$', got '\(Character(Unicode.Scalar(byte)))'")
    }
}
