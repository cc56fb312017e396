import NIOCore

/// Bytes that can be lent to Berkeley DB as a key or value without copying: the record operations
/// take `some DatabaseBytes`, so call sites pass `[UInt8]`, a `ByteBuffer` (its readable bytes) or
/// an `UnsafeRawBufferPointer` (for keys built on the stack with `withUnsafeBytes(of:)`) alike.
///
/// Conform fixed-size key types too, by lending their bytes the same way.
public protocol DatabaseBytes {
    /// Calls `body` with the bytes, valid only during the call.
    func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension UnsafeRawBufferPointer: DatabaseBytes {
    /// Lends the buffer itself.
    @inlinable
    public func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(self)
    }
}

extension UnsafeMutableRawBufferPointer: DatabaseBytes {
    /// Lends the buffer itself.
    @inlinable
    public func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(self))
    }
}

extension Array: DatabaseBytes where Element == UInt8 {
    /// Lends the array's storage.
    @inlinable
    public func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(body)
    }
}

extension ArraySlice: DatabaseBytes where Element == UInt8 {
    /// Lends the slice's part of the array's storage.
    @inlinable
    public func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(body)
    }
}

extension ContiguousArray: DatabaseBytes where Element == UInt8 {
    /// Lends the array's storage.
    @inlinable
    public func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(body)
    }
}

extension ByteBuffer: DatabaseBytes {
    /// Lends the readable bytes (reader index to writer index) without moving the reader index.
    @inlinable
    public func withDatabaseBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeReadableBytes(body)
    }
}
