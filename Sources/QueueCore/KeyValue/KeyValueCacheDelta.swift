/// `incr`/`decr` on stored bytes, exactly as memcached 1.6's `do_add_delta`.
enum KeyValueCacheDelta {
    /// Reads the number a value holds the way memcached's `safe_strtoull` does: `strtoull` base 10
    /// (leading white space, an optional sign, digits), then only white space or a NUL may follow
    /// the digits; overflow is an error, and so is a `-` sign whose result would be negative as a
    /// signed 64-bit number (so `-0` reads as 0 and `-5` is non-numeric). An empty value is
    /// non-numeric. After the digits the rest of the value is ignored (`5 abc` reads as 5):
    /// in memcached the value is followed by `\r\n`, which counts as white space.
    ///
    /// - Returns: The number, or `nil` when memcached would answer "non-numeric value".
    static func number(in bytes: UnsafeRawBufferPointer) -> UInt64? {
        let count = bytes.count
        var offset = 0
        while offset < count, isCSpace(bytes[offset]) { offset += 1 }
        var isNegative = false
        if offset < count, bytes[offset] == UInt8(ascii: "-") || bytes[offset] == UInt8(ascii: "+") {
            isNegative = bytes[offset] == UInt8(ascii: "-")
            offset += 1
        }
        let firstDigit = offset
        var magnitude: UInt64 = 0
        while offset < count {
            let digit = bytes[offset] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }  // strtoull's ERANGE
            magnitude = sum
            offset += 1
        }
        guard offset > firstDigit else { return nil }
        if offset < count {
            let next = bytes[offset]
            guard isCSpace(next) || next == 0 else { return nil }
        }
        guard isNegative else { return magnitude }
        let value = 0 &- magnitude  // strtoull negates in unsigned arithmetic
        return Int64(bitPattern: value) < 0 ? nil : value
    }

    /// The new number: `incr` wraps at 2^64, `decr` stops at 0.
    static func apply(_ delta: UInt64, to value: UInt64, increment: Bool) -> UInt64 {
        increment ? value &+ delta : (delta > value ? 0 : value - delta)
    }

    /// How many decimal digits `value` takes.
    static func digitCount(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }

    /// Writes `value` in decimal at the start of `bytes` and fills the rest with spaces.
    ///
    /// memcached rewrites a number in place when it fits (`decr` of `10` by 1 stores `9 `, length 2)
    /// and only makes a new item, exactly as long as the digits, when it does not.
    /// `bytes` must hold at least `digitCount(value)` bytes.
    static func write(_ value: UInt64, paddedInto bytes: UnsafeMutableRawBufferPointer) {
        let digits = digitCount(value)
        var rest = value
        var position = digits
        while position > 0 {
            position -= 1
            bytes[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        var padding = digits
        while padding < bytes.count {
            bytes[padding] = UInt8(ascii: " ")
            padding += 1
        }
    }

    /// C's `isspace` in the "C" locale.
    @inline(__always)
    private static func isCSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0D)
    }
}
