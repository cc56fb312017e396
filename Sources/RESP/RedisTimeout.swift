import NIOCore

/// The timeout argument of a blocking command (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH) as Redis 7 reads
/// it: seconds as a float, with fractions, converted to whole milliseconds by truncation.
///
/// Redis's quirks are kept so that replies match: under a millisecond truncates to 0, which waits
/// for ever, and a value whose milliseconds do not fit in 64 bits (`inf`, `1e400`, `1e16`)
/// becomes the most negative integer in Redis's conversion and is reported as negative.
public enum RedisTimeout: Equatable, Sendable {
    /// Not a float (nor `inf`): `timeout is not a float or out of range`.
    case notANumber
    /// `timeout is negative`.
    case negative
    /// 0: wait for ever.
    case forever
    /// Wait this many milliseconds (at least 1).
    case milliseconds(Int64)

    /// Reads the argument as Redis would, though in a `Double`, not C's `long double`: within a few
    /// milliseconds of Int64's end (about 292 million years) the two may round differently.
    public init(_ argument: ByteBuffer) {
        guard let seconds = Double(String(buffer: argument)), !seconds.isNaN else {
            self = .notANumber
            return
        }
        let exact = seconds * 1000
        // C's conversion of a double outside Int64's range gives Int64.min on x86, as Redis sees it.
        let milliseconds = exact > -0x1p63 && exact < 0x1p63 ? Int64(exact) : Int64.min
        if milliseconds < 0 {
            self = .negative
        } else if milliseconds == 0 {
            self = .forever
        } else {
            self = .milliseconds(milliseconds)
        }
    }
}
