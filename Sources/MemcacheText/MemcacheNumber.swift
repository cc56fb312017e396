import ASCIIBytes

/// Numbers on a memcached command line, read exactly as memcached 1.6's `safe_strtoull`,
/// `safe_strtoul` and `safe_strtol` (util.c) read them on 64-bit Linux, so that every number
/// memcached accepts is accepted here with the same value, and every number it refuses is refused.
///
/// Those functions wrap the C library's `strtoull`/`strtoul`/`strtol`, which means:
/// - leading C whitespace is skipped and a `+` or `-` sign is allowed (`+5`, `-0` are fine);
/// - after the digits the token must end, or go on with C whitespace or a NUL byte
///   (`1\r` is 1: memcached strips only one `\r` before the `\n`);
/// - anything beyond 64 bits is refused (`ERANGE`);
/// - the "unsigned" readers refuse a negative number only when its two's complement reads as
///   negative (`-1` is refused, `-9223372036854775809` is not: it wraps to 2^63 − 1);
/// - the 32-bit readers keep the low 32 bits of the 64-bit result: flags `4294967296` are 0 and
///   an exptime of `4294967297` is 1, as memcached stores them.
enum MemcacheNumber {
    /// What `strtoull`/`strtoll` saw: a sign and a magnitude that fits 64 bits.
    struct Scanned {
        var isNegative: Bool
        var magnitude: UInt64
    }

    /// C's `isspace` in the "C" locale.
    @inline(__always)
    static func isCSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0D)
    }

    /// The C library's view of `token`: `nil` when there are no digits, when garbage follows them,
    /// or when the magnitude overflows 64 bits.
    @inline(__always)
    static func scan(_ token: UnsafeRawBufferPointer) -> Scanned? {
        let count = token.count
        var index = 0
        while index < count, isCSpace(token[index]) {
            index += 1
        }
        var isNegative = false
        if index < count, token[index] == UInt8(ascii: "-") || token[index] == UInt8(ascii: "+") {
            isNegative = token[index] == UInt8(ascii: "-")
            index += 1
        }
        let digitsStart = index
        while index < count, token[index] &- UInt8(ascii: "0") < 10 {
            index += 1
        }
        guard index > digitsStart else { return nil }
        if index < count {
            let next = token[index]
            guard next == 0 || isCSpace(next) else { return nil }
        }
        let digits = UnsafeRawBufferPointer(rebasing: token[digitsStart..<index])
        guard let magnitude = ASCIIDecimal.unsignedDigits(digits) else { return nil }
        return Scanned(isNegative: isNegative, magnitude: magnitude)
    }

    /// memcached's `safe_strtoull`: incr/decr deltas and cas uniques.
    static func unsigned64(_ token: UnsafeRawBufferPointer) -> UInt64? {
        guard let scanned = scan(token) else { return nil }
        let value = scanned.isNegative ? 0 &- scanned.magnitude : scanned.magnitude
        if Int64(bitPattern: value) < 0, token.contains(UInt8(ascii: "-")) {
            return nil
        }
        return value
    }

    /// memcached's `safe_strtoul` into a `uint32_t`: client flags and the verbosity level.
    static func unsigned32(_ token: UnsafeRawBufferPointer) -> UInt32? {
        unsigned64(token).map { UInt32(truncatingIfNeeded: $0) }
    }

    /// memcached's `safe_strtol` into an `int32_t`: exptimes and data lengths.
    static func signed32(_ token: UnsafeRawBufferPointer) -> Int32? {
        guard let scanned = scan(token) else { return nil }
        let value: Int64
        if scanned.isNegative {
            guard scanned.magnitude <= UInt64(Int64.max) + 1 else { return nil }
            value = Int64(truncatingIfNeeded: 0 &- scanned.magnitude)
        } else {
            guard scanned.magnitude <= UInt64(Int64.max) else { return nil }
            value = Int64(scanned.magnitude)
        }
        return Int32(truncatingIfNeeded: value)
    }
}
