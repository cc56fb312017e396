/// The byte layouts of keys and values in the disk queue's databases. Integers are big-endian, so
/// Berkeley DB's bytewise B-Tree order is numeric order: a queue's messages sit together, in
/// sequence order, which is FIFO order.
enum StorageKeys {
    /// `messages` key: queue id, then sequence.
    typealias MessageKey = (UInt64, UInt64)
    /// `index` key: queue id, then the message's digest.
    typealias IndexKey = (UInt64, UInt64)
    /// Bytes of an `index` key, and of its value (the message's sequence).
    static let indexKeySize = 16
    static let indexValueSize = 8

    /// Tail pushes count up from here, head pushes count down from just below it, so that a head
    /// push always sorts before everything already queued and no sequence is ever reused.
    static let firstTailSequence: UInt64 = 1 << 63
    static let firstHeadSequence: UInt64 = (1 << 63) - 1

    /// Runs `body` with the 16 bytes of two big-endian integers.
    @inline(__always)
    @discardableResult
    static func withPair<Result>(_ first: UInt64, _ second: UInt64, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var pair = (first.bigEndian, second.bigEndian)
        return try withUnsafeBytes(of: &pair) { try body($0) }
    }

    /// Runs `body` with the 8 bytes of a big-endian integer.
    @inline(__always)
    @discardableResult
    static func withInteger<Result>(_ value: UInt64, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var bigEndian = value.bigEndian
        return try withUnsafeBytes(of: &bigEndian) { try body($0) }
    }

    @inline(__always)
    static func integer(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The queue id and sequence of a `messages` key.
    @inline(__always)
    static func messageKey(_ bytes: UnsafeRawBufferPointer) -> MessageKey {
        (self.integer(bytes, at: 0), self.integer(bytes, at: 8))
    }
}
