import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The timeout argument of a blocking command (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH) as Redis 7.0
/// reads it: seconds as a C `long double` (`strtold`), times 1000, rounded up to whole
/// milliseconds (so a positive timeout under a millisecond waits one, not for ever).
///
/// Redis's quirks are kept so that replies match: a value `strtold` rejects or that over- or
/// underflows it (`1e5000`, `1e-5000`) is not a float; one whose milliseconds do not fit in 64 bits
/// (`inf`, `1e400`, `1e16`) becomes the most negative integer in Redis's conversion and is
/// reported as negative; a tiny negative (`-0.0001`) rounds up to 0, which waits for ever.
public enum RedisTimeout: Equatable, Sendable {
    /// Not a float (nor `inf`): `timeout is not a float or out of range`.
    case notANumber
    /// `timeout is negative`.
    case negative
    /// 0: wait for ever.
    case forever
    /// Wait this many milliseconds (at least 1).
    case milliseconds(Int64)

    /// The longest argument Redis reads as a number (`MAX_LONG_DOUBLE_CHARS`).
    private static let maximumLength = 5 * 1024

    public init(_ argument: ByteBuffer) {
        guard let seconds = Self.longDouble(argument) else {
            self = .notANumber
            return
        }
        let exact = (seconds * 1000).rounded(.up)
        // C's conversion of a float outside Int64's range gives Int64.min on x86, as Redis sees it.
        let milliseconds = exact > -0x1p63 && exact < 0x1p63 ? Int64(exact) : Int64.min
        if milliseconds < 0 {
            self = .negative
        } else if milliseconds == 0 {
            self = .forever
        } else {
            self = .milliseconds(milliseconds)
        }
    }

    #if arch(x86_64)
    /// C's `long double` here, the type Redis computes timeouts in.
    typealias LongDouble = Float80
    private static func parse(_ text: UnsafePointer<CChar>, _ end: inout UnsafeMutablePointer<CChar>?) -> LongDouble {
        strtold(text, &end)
    }
    #else
    /// Swift has no type for C's `long double` on this architecture; `double` is the nearest.
    typealias LongDouble = Double
    private static func parse(_ text: UnsafePointer<CChar>, _ end: inout UnsafeMutablePointer<CChar>?) -> LongDouble {
        strtod(text, &end)
    }
    #endif

    /// The argument read as Redis's `string2ld` does: all of it (up to a NUL) must be the number,
    /// with no leading space, and a result `strtold` had to clamp to 0 or infinity is refused.
    static func longDouble(_ argument: ByteBuffer) -> LongDouble? {
        let count = argument.readableBytes
        guard count > 0, count < Self.maximumLength else { return nil }
        var text = [CChar](repeating: 0, count: count + 1)
        text.withUnsafeMutableBytes { argument.withUnsafeReadableBytes($0.copyMemory(from:)) }
        return text.withUnsafeBufferPointer { buffer -> LongDouble? in
            let start = buffer.baseAddress!
            guard isspace(Int32(UInt8(bitPattern: start.pointee))) == 0 else { return nil }
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = Self.parse(start, &end)
            let clamped = errno == ERANGE && (value.isInfinite || value == 0)
            guard let end, end.pointee == 0, !clamped, !value.isNaN else { return nil }
            return value
        }
    }
}
