import NIOCore

/// What a memcached text-protocol key may be, in one place.
///
/// - At most ``maximumLength`` (250) bytes, as memcached's `KEY_MAX_LENGTH`.
/// - No control characters (bytes 0x00–0x1F and 0x7F). memcached's ASCII protocol checks only the
///   length (a tab or a `\r` inside a key is kept; a NUL silently cuts the line short, so
///   `get a\0b` reads key `a`). The SPEC asks for a `CLIENT_ERROR` instead, and we answer it with
///   the very reply memcached gives for every other bad key, `CLIENT_ERROR bad command line format`,
///   under the same `noreply` rules — so clients see one error for "this key is not allowed".
/// - Spaces cannot occur: they separate tokens. Bytes 0x80–0xFF (UTF-8) are allowed.
public enum MemcacheKeyRules {
    /// The longest key memcached accepts.
    public static let maximumLength = 250

    /// Whether `byte` may appear in a key (space aside, which the tokenizer has already removed).
    @inlinable
    public static func isAllowed(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte != 0x7F
    }

    /// Whether `key` satisfies both rules.
    @inlinable
    public static func isValid(_ key: UnsafeRawBufferPointer) -> Bool {
        guard key.count <= maximumLength else { return false }
        for byte in key where !isAllowed(byte) {
            return false
        }
        return true
    }

    /// Whether `key`'s readable bytes satisfy both rules.
    @inlinable
    public static func isValid(_ key: ByteBuffer) -> Bool {
        key.withUnsafeReadableBytes { isValid($0) }
    }

    /// Whether every space-separated key in `keys` is valid: one pass, as a multi-get may carry thousands.
    @inlinable
    public static func areValidKeys(_ keys: UnsafeRawBufferPointer) -> Bool {
        var keyLength = 0
        for byte in keys {
            if byte == UInt8(ascii: " ") {
                keyLength = 0
                continue
            }
            keyLength += 1
            if keyLength > maximumLength || !isAllowed(byte) {
                return false
            }
        }
        return true
    }
}
