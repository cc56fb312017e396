import NIOCore

/// Space-separated words of a command line — the keys of a `get`, the arguments of `stats` —
/// iterated as `ByteBuffer` slices of the received bytes, without building an array.
///
/// A multi-get may name hundreds of keys; iterating them costs no allocation. Two values are
/// equal when they hold the same words, however many spaces separate them.
public struct MemcacheTokens: Sequence, Sendable, Hashable, CustomStringConvertible {
    /// The words with the spaces between them (may start or end with spaces).
    public let bytes: ByteBuffer

    /// Wraps `bytes`, a run of words separated by spaces.
    @inlinable
    public init(_ bytes: ByteBuffer) {
        self.bytes = bytes
    }

    /// Yields each word in order.
    public struct Iterator: IteratorProtocol {
        @usableFromInline
        var remaining: ByteBuffer

        @inlinable
        init(remaining: ByteBuffer) {
            self.remaining = remaining
        }

        /// The next word, or `nil` after the last.
        @inlinable
        public mutating func next() -> ByteBuffer? {
            let (skipped, length) = self.remaining.withUnsafeReadableBytes { bytes -> (Int, Int) in
                var start = 0
                while start < bytes.count, bytes[start] == UInt8(ascii: " ") {
                    start += 1
                }
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: " ") {
                    end += 1
                }
                return (start, end - start)
            }
            guard length > 0 else {
                self.remaining.moveReaderIndex(forwardBy: self.remaining.readableBytes)
                return nil
            }
            self.remaining.moveReaderIndex(forwardBy: skipped)
            return self.remaining.readSlice(length: length)
        }
    }

    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(remaining: self.bytes)
    }

    /// The number of words (walks them).
    @inlinable
    public var count: Int {
        var count = 0
        for _ in self {
            count += 1
        }
        return count
    }

    /// Whether there is no word at all.
    @inlinable
    public var isEmpty: Bool {
        var iterator = self.makeIterator()
        return iterator.next() == nil
    }

    /// The first word, if any (`stats settings` → `settings`).
    @inlinable
    public var first: ByteBuffer? {
        var iterator = self.makeIterator()
        return iterator.next()
    }

    public static func == (lhs: MemcacheTokens, rhs: MemcacheTokens) -> Bool {
        var left = lhs.makeIterator()
        var right = rhs.makeIterator()
        while true {
            let a = left.next()
            let b = right.next()
            if a != b {
                return false
            }
            if a == nil {
                return true
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        for word in self {
            hasher.combine(word)
        }
    }

    /// The words joined by single spaces, for test failures and logs (not for the hot path).
    public var description: String {
        self.map { String(buffer: $0) }.joined(separator: " ")
    }
}
