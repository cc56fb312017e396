extension ASCIIDecimal {
    /// Writes `value` in decimal ASCII at the start of `target`, for writers that fill a whole reply
    /// line in one `ByteBuffer.writeWithUnsafeMutableBytes` call instead of many small writes.
    ///
    /// - Precondition: `target` holds at least ``digitCount(_:)`` bytes.
    /// - Returns: The number of bytes written.
    @inlinable
    @discardableResult
    public static func write(_ value: UInt64, into target: UnsafeMutableRawBufferPointer) -> Int {
        let count = digitCount(value)
        precondition(target.count >= count, "not enough room for \(count) digits")
        var rest = value
        var position = count
        repeat {
            position -= 1
            target[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while position > 0
        return count
    }
}
