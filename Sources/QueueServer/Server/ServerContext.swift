import Logging
import QueueCore
import Synchronization

/// What every connection of a server shares.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    /// The queues (queue programs only).
    let processor: (any QueueProcessor)?
    /// The key/value cache (mc-db-server only).
    let cache: KeyValueCache?
    /// Who may connect, from `--auth-file` (memcached programs); nil lets everyone in.
    let memcacheCredentials: [MemcacheCredential]?
    let registry: ConnectionRegistry
    let statistics = ServerStatistics()
    let logger: Logger
    /// The port the server listens on, once bound (`--port 0` picks one).
    let boundPort = Atomic<Int>(0)

    init(
        configuration: ServerConfiguration,
        processor: (any QueueProcessor)?,
        cache: KeyValueCache? = nil,
        memcacheCredentials: [MemcacheCredential]? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.processor = processor
        self.cache = cache
        self.memcacheCredentials = memcacheCredentials
        self.registry = ConnectionRegistry(maximumConnections: configuration.maximumClients)
        self.logger = logger
    }
}
