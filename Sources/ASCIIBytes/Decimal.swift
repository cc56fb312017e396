import NIOCore

/// Decimal integers read from and written to raw bytes, for the wire protocols' hot paths:
/// no `String` is ever built, and nothing is allocated.
public enum ASCIIDecimal {
    /// The longest decimal text of a 64-bit integer: `-9223372036854775808` and `18446744073709551615`.
    public static let maximumLength = 20

    /// Reads a signed 64-bit integer the way Redis's `string2ll` does: an optional `-`, then digits,
    /// no leading zeros (but `0` itself), no `-0`, no `+`, no spaces, nothing else.
    ///
    /// - Returns: The value, or `nil` for anything else, including overflow.
    @inlinable
    public static func strictInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let first = bytes.first, bytes.count <= maximumLength else { return nil }
        let isNegative = first == UInt8(ascii: "-")
        let digits = isNegative ? UnsafeRawBufferPointer(rebasing: bytes.dropFirst()) : bytes
        guard let leading = digits.first, leading != UInt8(ascii: "0") || digits.count == 1 else { return nil }
        if isNegative && leading == UInt8(ascii: "0") { return nil }
        guard let magnitude = unsignedDigits(digits) else { return nil }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Reads an unsigned 64-bit integer written only with digits (leading zeros allowed).
    ///
    /// - Returns: The value, or `nil` when `bytes` is empty, holds anything but digits, or overflows.
    @inlinable
    public static func unsignedDigits(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// The number of decimal digits of `value` (1 for 0).
    @inlinable
    public static func digitCount(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10_000 {
            rest /= 10_000
            count += 4
        }
        if rest >= 1000 { return count + 3 }
        if rest >= 100 { return count + 2 }
        if rest >= 10 { return count + 1 }
        return count
    }
}

extension ByteBuffer {
    /// Writes `value` in decimal ASCII, straight into the buffer.
    ///
    /// - Returns: The number of bytes written.
    @inlinable
    @discardableResult
    public mutating func writeDecimal(_ value: UInt64) -> Int {
        let count = ASCIIDecimal.digitCount(value)
        return self.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            ASCIIDecimal.write(value, into: target)
        }
    }

    /// Writes `value` in decimal ASCII, with a leading `-` when negative.
    ///
    /// - Returns: The number of bytes written.
    @inlinable
    @discardableResult
    public mutating func writeDecimal(_ value: Int) -> Int {
        if value >= 0 {
            return self.writeDecimal(UInt64(value))
        }
        self.writeInteger(UInt8(ascii: "-"))
        return 1 + self.writeDecimal(UInt64(value.magnitude))
    }

    /// The readable bytes as a strict signed integer (see ``ASCIIDecimal/strictInt64(_:)``).
    @inlinable
    public var readableStrictInt64: Int64? {
        self.withUnsafeReadableBytes { ASCIIDecimal.strictInt64($0) }
    }
}
