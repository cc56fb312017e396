import Logging
import NIOCore

/// The settings a running server works with, resolved from the command line.
public struct ServerConfiguration: Sendable {
    public var programName: String
    public var wireProtocol: WireProtocol
    public var store: StoreKind
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var fsync: FsyncPolicy
    public var maximumClients: Int
    /// nil: clients may stay idle forever.
    public var idleTimeout: TimeAmount?
    public var maximumMessageSize: Int
    public var maximumQueues: Int?
    public var allowsDuplicates: Bool
    public var memoryLimit: Int?
    public var password: String?
    public var authFile: String?
    /// nil: a reservation lasts until its client disconnects.
    public var reserveTimeout: TimeAmount?
    public var eventLoopThreads: Int
    public var logLevel: Logger.Level

    public init<Program: ProgramProfile>(_ options: ServerOptions<Program>) {
        self.programName = Program.programName
        self.wireProtocol = Program.wireProtocol
        self.store = Program.store
        self.host = options.host
        self.port = options.port
        self.dataDirectory = options.dataDir
        self.fsync = options.fsync
        self.maximumClients = options.maxClients
        self.idleTimeout = options.idleTimeout > 0 ? .seconds(Int64(options.idleTimeout)) : nil
        self.maximumMessageSize = options.maxMessageSize.bytes
        self.maximumQueues = options.maxQueues
        self.allowsDuplicates = options.allowDuplicates
        self.memoryLimit = options.memoryLimit.bytes > 0 ? options.memoryLimit.bytes : nil
        self.password = options.requirepass
        self.authFile = options.authFile
        self.reserveTimeout = options.reserveTimeout > 0 ? .seconds(Int64(options.reserveTimeout)) : nil
        self.eventLoopThreads = options.threads ?? System.coreCount
        self.logLevel = options.logLevel
    }
}
