/// memcached's rules for turning a protocol `exptime` into a moment, in whole Unix seconds.
enum KeyValueCacheExpiry {
    /// The largest `exptime` read as a number of seconds from now (30 days); anything larger is a
    /// Unix time. memcached calls it `REALTIME_MAXDELTA`.
    static let maximumRelativeSeconds: Int64 = 60 * 60 * 24 * 30

    /// `expiresAt` of an item that never expires.
    static let never: Int64 = 0

    /// `expiresAt` of an item that is already dead (negative `exptime`, as memcached 1.6).
    static let alreadyExpired: Int64 = .min

    /// The Unix second at which an item stored now with `exptime` stops being visible
    /// (`never` for 0). An item is visible while `now < expiresAt`, as memcached's
    /// `exptime <= current_time` test for expiry.
    static func expiresAt(exptime: Int64, now: Int64) -> Int64 {
        if exptime == 0 { return never }
        if exptime < 0 { return alreadyExpired }
        if exptime <= maximumRelativeSeconds { return now + exptime }
        return exptime  // absolute; one in the past is simply already expired
    }

    static func isExpired(expiresAt: Int64, now: Int64) -> Bool {
        expiresAt != never && expiresAt <= now
    }

    /// What a `flush_all delay` does.
    enum FlushMoment: Equatable {
        /// Flush at once.
        case now
        /// Flush from this Unix second on.
        case at(Int64)
        /// Flush nothing, and drop a pending delayed flush.
        case cancelPending
    }

    /// How long before its start memcached dates its clock (`process_started = time(0) -
    /// ITEM_UPDATE_INTERVAL - 2`), which decides what an old Unix time means to `flush_all`.
    static let processStartedLead: Int64 = 62

    /// When a `flush_all delay` takes effect.
    ///
    /// memcached sets `oldest_live = realtime(delay) - 1` and starts flushing once its clock reaches
    /// it, so `flush_all 1` acts at once and `flush_all 3` two seconds later (measured on
    /// memcached 1.6.18). We copy that second exactly. Zero or negative delays flush at once, like
    /// memcached; a delay over 30 days is a Unix time, as for items. A Unix time in the past flushes
    /// at once, unless it is before the (back-dated) moment the server started: memcached's
    /// `realtime` then gives 1, `oldest_live` becomes 0, "no flush", and a pending flush is dropped.
    static func flushMoment(delay: Int64, now: Int64, processStarted: Int64) -> FlushMoment {
        guard delay > 0 else { return .now }
        if delay > maximumRelativeSeconds && delay <= processStarted + 1 {
            return .cancelPending
        }
        let moment = delay <= maximumRelativeSeconds ? now + delay : delay
        let deadline = moment - 1
        return deadline <= now ? .now : .at(deadline)
    }
}
