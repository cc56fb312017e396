import NIOCore

/// What a memcached text-protocol key may be, in one place.
///
/// - At most ``maximumLength`` (250) bytes, as memcached's `KEY_MAX_LENGTH`.
/// - No control characters (bytes 0x00–0x1F and 0x7F), unless the server is a plain cache.
///   memcached's ASCII protocol checks only the length (a tab or a `\r` inside a key is kept; a NUL
///   silently cuts the line short, so `get a\0b` reads key `a`). The SPEC asks queue servers for a
///   `CLIENT_ERROR` instead, and we answer it with the very reply memcached gives for every other bad
///   key, `CLIENT_ERROR bad command line format`, under the same `noreply` rules. A cache that
///   "behaves as memcached" takes such keys as memcached does (memcaslap's keys begin with bytes
///   0x10–0x1F), keeping every byte, except a NUL: memcached can never store a key holding one,
///   so the cache refuses it like the queue servers.
/// - Spaces cannot occur: they separate tokens. Bytes 0x80–0xFF (UTF-8) are allowed.
public enum MemcacheKeyRules {
    /// The longest key memcached accepts.
    public static let maximumLength = 250

    /// Whether `byte` may appear in a key (space aside, which the tokenizer has already removed).
    @inlinable
    public static func isAllowed(_ byte: UInt8, controlCharacters: Bool = false) -> Bool {
        byte != 0 && (controlCharacters || (byte >= 0x20 && byte != 0x7F))
    }

    /// Whether `key` satisfies the rules.
    @inlinable
    public static func isValid(_ key: UnsafeRawBufferPointer, controlCharacters: Bool = false) -> Bool {
        guard key.count <= maximumLength else { return false }
        for byte in key where !isAllowed(byte, controlCharacters: controlCharacters) {
            return false
        }
        return true
    }

    /// Whether `key`'s readable bytes satisfy the rules.
    @inlinable
    public static func isValid(_ key: ByteBuffer, controlCharacters: Bool = false) -> Bool {
        key.withUnsafeReadableBytes { isValid($0, controlCharacters: controlCharacters) }
    }

    /// Whether every space-separated key in `keys` is valid: one pass, as a multi-get may carry thousands.
    @inlinable
    public static func areValidKeys(_ keys: UnsafeRawBufferPointer, controlCharacters: Bool = false) -> Bool {
        var keyLength = 0
        for byte in keys {
            if byte == UInt8(ascii: " ") {
                keyLength = 0
                continue
            }
            keyLength += 1
            if keyLength > maximumLength || !isAllowed(byte, controlCharacters: controlCharacters) {
                return false
            }
        }
        return true
    }
}
