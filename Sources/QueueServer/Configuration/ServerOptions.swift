import ArgumentParser
import Logging

/// How durable a disk queue's acknowledgements are (`--fsync`).
public enum FsyncPolicy: String, Sendable, CaseIterable, ExpressibleByArgument {
    /// A push or pop is acknowledged only once its transaction is on disk (group-committed).
    case always
    /// The log is flushed at least once a second.
    case everysec
    /// Flushing is left to the operating system.
    case no
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The flags every program takes (SPEC §1), with each program's own defaults.
public struct ServerOptions<Program: ProgramProfile>: ParsableArguments {
    @Option(help: "Address to listen on; binding every interface (0.0.0.0) is an explicit choice.")
    public var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port and logs it).")
    public var port: Int = Program.defaultPort

    @Option(help: ArgumentHelp("Directory of the disk queue's Berkeley DB environment, created if missing (disk programs).", valueName: "path"))
    public var dataDir = "./data"

    @Option(help: "When a disk queue's log reaches the disk: always (before every acknowledgement, group-committed), everysec, or no (disk programs).")
    public var fsync = FsyncPolicy.always

    @Option(help: "Most clients connected at once; one more is refused with an error.")
    public var maxClients = 10_000

    @Option(help: ArgumentHelp("Close a client idle this long; 0 = never.", valueName: "seconds"))
    public var idleTimeout = 0

    @Option(help: ArgumentHelp("Largest message (or memcached value) accepted.", valueName: "bytes"))
    public var maxMessageSize = ByteCount(1 << 20)

    @Option(help: ArgumentHelp("Most queues that may exist at once; none = no limit (queue programs).", valueName: "n"))
    public var maxQueues: Int?

    @Flag(help: "Let a queue hold equal messages; by default a push of a message already queued changes nothing (queue programs).")
    public var allowDuplicates = false

    @Option(help: ArgumentHelp("Memory bound: RAM queues refuse pushes past it, the cache evicts, disk programs size Berkeley DB's page cache with it (default 1gb there); 0 = no limit / default.", valueName: "bytes"))
    public var memoryLimit = ByteCount(Program.store == .cache ? 64 << 20 : 0)

    @Option(help: ArgumentHelp("Password clients must give with AUTH or HELLO (Redis protocol programs).", valueName: "password"))
    public var requirepass: String?

    @Option(help: ArgumentHelp("File of `user:password` lines; clients authenticate as with memcached's --auth-file (memcached protocol programs).", valueName: "path"))
    public var authFile: String?

    @Option(help: ArgumentHelp("Put a reservation (memcached `q/open`) back at the head of its queue when unacknowledged this long; 0 = until the client disconnects (queue programs).", valueName: "seconds"))
    public var reserveTimeout = 0

    @Option(help: ArgumentHelp("Event-loop threads; none = one per core.", valueName: "n"))
    public var threads: Int?

    @Option(help: "Least severe log level printed: trace, debug, info, notice, warning, error, critical.")
    public var logLevel = Logger.Level.info

    public init() {}

    public mutating func validate() throws {
        guard (0...65535).contains(self.port) else {
            throw ValidationError("--port must be between 0 and 65535")
        }
        guard self.maxClients > 0 else { throw ValidationError("--max-clients must be at least 1") }
        guard self.idleTimeout >= 0 else { throw ValidationError("--idle-timeout must not be negative") }
        guard self.reserveTimeout >= 0 else { throw ValidationError("--reserve-timeout must not be negative") }
        guard self.maxMessageSize.bytes > 0, self.maxMessageSize.bytes <= 512 << 20 else {
            throw ValidationError("--max-message-size must be between 1 byte and 512mb")
        }
        if let maxQueues = self.maxQueues, maxQueues < 1 {
            throw ValidationError("--max-queues must be at least 1")
        }
        if let threads = self.threads, threads < 1 {
            throw ValidationError("--threads must be at least 1")
        }
        if self.memoryLimit.bytes != 0 && self.memoryLimit.bytes < 1 << 20 {
            throw ValidationError("--memory-limit must be 0 (no limit) or at least 1mb")
        }
    }
}
