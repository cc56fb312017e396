/// The wire protocol a program speaks.
public enum WireProtocol: Sendable {
    case resp
    case memcache
}

/// Where a program keeps what clients store.
public enum StoreKind: Sendable {
    /// Queues in RAM.
    case ramQueue
    /// Queues on disk, in Berkeley DB.
    case diskQueue
    /// A memcached-style key/value cache in RAM.
    case cache
}

/// What makes each of the five programs itself: name, protocol, store and default port.
public protocol ProgramProfile: Sendable {
    static var programName: String { get }
    static var summary: String { get }
    static var wireProtocol: WireProtocol { get }
    static var store: StoreKind { get }
}

extension ProgramProfile {
    static var defaultPort: Int { wireProtocol == .resp ? 6379 : 11211 }
}

public enum RedisDiskQueueProgram: ProgramProfile {
    public static let programName = "redis-diskqueue-server"
    public static let summary = "Durable queues on disk (Berkeley DB), spoken to with the Redis protocol."
    public static let wireProtocol = WireProtocol.resp
    public static let store = StoreKind.diskQueue
}

public enum RedisQueueProgram: ProgramProfile {
    public static let programName = "redis-queue-server"
    public static let summary = "Queues in RAM, spoken to with the Redis protocol."
    public static let wireProtocol = WireProtocol.resp
    public static let store = StoreKind.ramQueue
}

public enum MemcacheDiskQueueProgram: ProgramProfile {
    public static let programName = "mc-diskqueue-server"
    public static let summary = "Durable queues on disk (Berkeley DB), spoken to with the memcached text protocol."
    public static let wireProtocol = WireProtocol.memcache
    public static let store = StoreKind.diskQueue
}

public enum MemcacheQueueProgram: ProgramProfile {
    public static let programName = "mc-queue-server"
    public static let summary = "Queues in RAM, spoken to with the memcached text protocol."
    public static let wireProtocol = WireProtocol.memcache
    public static let store = StoreKind.ramQueue
}

public enum MemcacheCacheProgram: ProgramProfile {
    public static let programName = "mc-db-server"
    public static let summary = "A memcached: a key/value cache in RAM with LRU eviction."
    public static let wireProtocol = WireProtocol.memcache
    public static let store = StoreKind.cache
}
