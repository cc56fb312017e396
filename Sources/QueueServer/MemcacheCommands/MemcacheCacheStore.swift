import MemcacheText
import NIOCore
import QueueCore

/// Keys are cache entries: memcached 1.6's semantics, on ``KeyValueCache`` (mc-db-server).
/// Every command is answered at once; nothing waits for a processor.
struct MemcacheCacheStore: MemcacheStore {
    typealias PendingReply = Never

    private let cache: KeyValueCache

    init(server: ServerContext) {
        guard let cache = server.cache else {
            preconditionFailure("\(server.configuration.programName) has no cache")
        }
        self.cache = cache
    }

    func retrieve(_ request: MemcacheRetrievalRequest, on connection: Connection<MemcacheSession<Self>>) {
        let cache = self.cache
        connection.reply { output in
            for key in request.keys {
                let item = request.exptime.map { cache.getAndTouch(key, exptime: $0) } ?? cache.get(key)
                guard let item else { continue }
                output.writeMemcacheValueHeader(
                    key: key,
                    flags: item.flags,
                    byteCount: item.valueLength,
                    cas: request.command.returnsCAS ? item.casUnique : nil
                )
                output.writeValue(of: item)
                output.writeStaticString("\r\n")
            }
            output.writeMemcacheReply(.end)
        }
    }

    func store(_ request: MemcacheStorageRequest, on connection: Connection<MemcacheSession<Self>>) {
        let mode: KeyValueCache.StoreMode
        switch request.command {
        case .set: mode = .set
        case .add: mode = .add
        case .replace: mode = .replace
        case .append: mode = .append
        case .prepend: mode = .prepend
        case .cas: mode = .compareAndSwap(casUnique: request.casUnique)
        }
        let outcome = self.cache.store(mode, key: request.key, value: request.data, flags: request.flags, exptime: request.exptime)
        guard !request.noreply else { return }
        connection.reply { output in
            switch outcome {
            case .stored: output.writeMemcacheReply(.stored)
            case .notStored: output.writeMemcacheReply(.notStored)
            case .exists: output.writeMemcacheReply(.exists)
            case .notFound: output.writeMemcacheReply(.notFound)
            case .tooLarge: output.writeMemcacheReply(.objectTooLarge)
            case .outOfMemory: output.writeMemcacheReply(.outOfMemoryStoringObject)
            }
        }
    }

    func delete(_ key: ByteBuffer, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        let outcome = self.cache.delete(key)
        guard !noreply else { return }
        connection.reply { $0.writeMemcacheReply(outcome == .deleted ? .deleted : .notFound) }
    }

    func adjust(_ key: ByteBuffer, by delta: UInt64, increment: Bool, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        let outcome = increment ? self.cache.increment(key, by: delta) : self.cache.decrement(key, by: delta)
        guard !noreply else { return }
        connection.reply { output in
            switch outcome {
            case .value(let value): output.writeMemcacheNumber(value)
            case .notFound: output.writeMemcacheReply(.notFound)
            case .nonNumeric: output.writeMemcacheReply(.nonNumericValue)
            case .outOfMemory: output.writeMemcacheReply(.outOfMemory)
            }
        }
    }

    func touch(_ key: ByteBuffer, exptime: Int64, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        let outcome = self.cache.touch(key, exptime: exptime)
        guard !noreply else { return }
        connection.reply { $0.writeMemcacheReply(outcome == .touched ? .touched : .notFound) }
    }

    func flushAll(delay: Int64?, noreply: Bool, on connection: Connection<MemcacheSession<Self>>) {
        self.cache.flushAll(delay: delay ?? 0)
        guard !noreply else { return }
        connection.reply { $0.writeMemcacheReply(.ok) }
    }

    /// `stats settings` gives the limits; other sub-statistics of memcached (slabs, items, sizes)
    /// describe its allocator, which this cache does not have.
    func stats(_ arguments: MemcacheTokens, on connection: Connection<MemcacheSession<Self>>) -> Bool {
        guard arguments.first == ByteBuffer(string: "settings") else { return false }
        let configuration = self.cache.configuration
        connection.reply { output in
            output.writeMemcacheStat("maxbytes", configuration.memoryLimit)
            output.writeMemcacheStat("item_size_max", configuration.maximumItemSize)
            output.writeMemcacheStat("evictions", "on")
            output.writeMemcacheStat("cas_enabled", "yes")
            output.writeMemcacheReply(.end)
        }
        return true
    }

    func statisticsSnapshot() -> KeyValueCache.Statistics {
        self.cache.statistics()
    }

    static func writeStatistics(
        _ part: MemcacheStatisticsPart, of statistics: KeyValueCache.Statistics, into output: inout ByteBuffer
    ) {
        let lines: [(StaticString, UInt64)]
        switch part {
        case .commands:
            lines = [
                ("cmd_get", statistics.commandGet), ("cmd_set", statistics.commandSet),
                ("cmd_flush", statistics.commandFlush), ("cmd_touch", statistics.commandTouch), ("cmd_meta", 0),
                ("get_hits", statistics.getHits), ("get_misses", statistics.getMisses),
                ("get_expired", statistics.getExpired), ("get_flushed", statistics.getFlushed),
                ("delete_misses", statistics.deleteMisses), ("delete_hits", statistics.deleteHits),
                ("incr_misses", statistics.incrementMisses), ("incr_hits", statistics.incrementHits),
                ("decr_misses", statistics.decrementMisses), ("decr_hits", statistics.decrementHits),
                ("cas_misses", statistics.casMisses), ("cas_hits", statistics.casHits), ("cas_badval", statistics.casBadValue),
                ("touch_hits", statistics.touchHits), ("touch_misses", statistics.touchMisses),
                ("store_too_large", statistics.storeTooLarge), ("store_no_memory", statistics.storeNoMemory),
            ]
        case .limits:
            lines = [("limit_maxbytes", statistics.limitMaxBytes)]
        case .contents:
            lines = [
                ("bytes", statistics.bytes), ("curr_items", statistics.currentItems), ("total_items", statistics.totalItems),
                ("expired_unfetched", statistics.expiredUnfetched), ("evicted_unfetched", statistics.evictedUnfetched),
                ("evicted_active", 0), ("evictions", statistics.evictions), ("reclaimed", statistics.reclaimed),
            ]
        }
        for (name, value) in lines {
            output.writeMemcacheStat(name, value)
        }
    }

    func resetStatistics() {
        self.cache.resetStatistics()
    }

    /// Counted as memcached counts it; the old value of a key whose `set` was too large goes, so no
    /// stale value survives.
    func decoderRefused(_ error: MemcacheRequestError) {
        if let refused = error.rejectedStorage {
            self.cache.refuseTooLarge(key: refused.key, removingOldValue: refused.command == .set)
        } else if error.reason == .badDataChunk {
            self.cache.countStoreWithBadData()
        }
    }

    static func render(_ reply: QueueReply, for pending: Never, into output: inout ByteBuffer) {}
}
