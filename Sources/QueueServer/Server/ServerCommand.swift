import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import BerkeleyQueue
import Logging
import NIOPosix
import QueueCore
import ServiceLifecycle

/// The command line of every program: `ServerCommand<RedisQueueProgram>.main()` is a whole program.
public struct ServerCommand<Program: ProgramProfile>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Program.programName, abstract: Program.summary)
    }

    @OptionGroup public var options: ServerOptions<Program>

    public init() {}

    public func run() async throws {
        // Past a file-size limit (`ulimit -f`) a write should fail like a full disk, not kill us.
        signal(SIGXFSZ, SIG_IGN)
        let configuration = ServerConfiguration(self.options)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let logger = Logger(label: configuration.programName)
        let processor = try Self.makeProcessor(configuration, logger: logger)
        let cache = configuration.store == .cache
            ? KeyValueCache(
                configuration: .init(
                    memoryLimit: configuration.memoryLimit ?? 64 << 20,
                    maximumItemSize: configuration.maximumMessageSize
                )
            )
            : nil
        let credentials = try configuration.authFile.map { try MemcacheCredential.load(from: $0) }
        let server = ServerContext(
            configuration: configuration,
            processor: processor,
            cache: cache,
            memcacheCredentials: credentials,
            logger: logger
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)

        let service: any Service
        switch (configuration.wireProtocol, configuration.store) {
        case (.resp, _):
            service = QueueServerService<RESPSession>(server: server, group: group)
        case (.memcache, .cache):
            service = QueueServerService<MemcacheSession<MemcacheCacheStore>>(server: server, group: group)
        case (.memcache, .ramQueue), (.memcache, .diskQueue):
            service = QueueServerService<MemcacheSession<MemcacheQueueStore>>(server: server, group: group)
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await serviceGroup.run()
        try await group.shutdownGracefully()
    }

    private static func makeProcessor(_ configuration: ServerConfiguration, logger: Logger) throws -> (any QueueProcessor)? {
        switch configuration.store {
        case .ramQueue:
            return RAMQueueProcessor(
                configuration: .init(
                    allowsDuplicates: configuration.allowsDuplicates,
                    memoryLimit: configuration.memoryLimit,
                    maximumQueues: configuration.maximumQueues,
                    reservationTimeout: configuration.reserveTimeout
                )
            )
        case .diskQueue:
            let durability: DiskQueueProcessor.Configuration.Durability =
                switch configuration.fsync {
                case .always: .always
                case .everysec: .everySecond
                case .no: .never
                }
            do {
                return try DiskQueueProcessor(
                    configuration: .init(
                        directory: configuration.dataDirectory,
                        durability: durability,
                        allowsDuplicates: configuration.allowsDuplicates,
                        maximumQueues: configuration.maximumQueues,
                        reservationTimeout: configuration.reserveTimeout,
                        cacheSize: configuration.memoryLimit ?? DiskQueueProcessor.Configuration.defaultCacheSize
                    ),
                    logger: logger
                )
            } catch {
                throw ValidationError("cannot open the disk queue in \(configuration.dataDirectory): \(error)")
            }
        case .cache:
            return nil
        }
    }
}
