import NIOCore
@testable import QueueCore

/// Shared helpers for the KeyValueCache suites.
enum KeyValueCacheTesting {
    /// The manual clock's starting second (late 2023): far above 30 days, so absolute times work.
    static let start: Int64 = 1_700_000_000

    static func makeCache(
        memoryLimit: Int = 64 << 20,
        maximumItemSize: Int = 1 << 20,
        shardCount: Int = 16,
        clock: KeyValueCacheManualClock = KeyValueCacheManualClock(secondsSinceEpoch: start)
    ) -> KeyValueCache {
        KeyValueCache(
            configuration: .init(memoryLimit: memoryLimit, maximumItemSize: maximumItemSize, shardCount: shardCount),
            clock: clock
        )
    }
}

func kvBuffer(_ string: String) -> ByteBuffer {
    ByteBuffer(string: string)
}

func kvBuffer(_ array: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: array)
}

extension KeyValueCache {
    /// `set` with a String key and value.
    @discardableResult
    func set(_ key: String, _ value: String, flags: UInt32 = 0, exptime: Int64 = 0) -> StoreOutcome {
        self.store(.set, key: kvBuffer(key), value: kvBuffer(value), flags: flags, exptime: exptime)
    }

    @discardableResult
    func store(_ mode: StoreMode, _ key: String, _ value: String, flags: UInt32 = 0, exptime: Int64 = 0) -> StoreOutcome {
        self.store(mode, key: kvBuffer(key), value: kvBuffer(value), flags: flags, exptime: exptime)
    }

    /// The value under `key` as a String, or nil.
    func string(_ key: String) -> String? {
        self.get(kvBuffer(key)).map(\.string)
    }

    func get(_ key: String) -> Item? {
        self.get(kvBuffer(key))
    }
}

extension KeyValueCache.Item {
    var string: String {
        self.withUnsafeValueBytes { String(decoding: $0, as: UTF8.self) }
    }
}
