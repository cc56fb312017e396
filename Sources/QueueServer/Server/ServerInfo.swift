#if canImport(Glibc)
import Glibc
#endif

/// What the server says about itself: versions, INFO text, CONFIG GET parameters.
enum ServerInfo {
    /// DiskQueue's own version.
    static let version = "0.1.0"

    /// The Redis version whose replies we follow, reported where clients expect a Redis version
    /// (HELLO, INFO's `redis_version`); INFO also gives `diskqueue_version`.
    static let redisCompatibilityVersion = "7.0.0"

    /// What memcached's `version` answers: the memcached release whose behaviour we follow, then
    /// ours, as one token (clients that parse it read 1.6.18).
    static let memcachedVersion = "1.6.18-diskqueue-\(version)"

    /// The parameters CONFIG GET knows, with their current values.
    static func configParameters(_ server: ServerContext) -> [(String, String)] {
        let configuration = server.configuration
        let onDisk = configuration.store == .diskQueue
        return [
            ("bind", configuration.host),
            ("port", String(server.boundPort.load(ordering: .relaxed))),
            ("maxclients", String(configuration.maximumClients)),
            ("timeout", String(configuration.idleTimeout.map { $0.nanoseconds / 1_000_000_000 } ?? 0)),
            ("maxmemory", String(configuration.memoryLimit ?? 0)),
            ("maxmemory-policy", "noeviction"),
            ("proto-max-bulk-len", String(configuration.maximumMessageSize)),
            ("requirepass", configuration.password ?? ""),
            ("databases", "1"),
            ("save", ""),
            ("appendonly", onDisk ? "yes" : "no"),
            ("appendfsync", onDisk ? configuration.fsync.rawValue : "no"),
            ("dir", onDisk ? configuration.dataDirectory : ""),
        ]
    }

    /// INFO's text: the default sections, or those asked for (`all` and `everything` give all).
    static func infoText(_ server: ServerContext, sections requested: [String]) -> String {
        let configuration = server.configuration
        let statistics = server.statistics
        let uptime = statistics.uptimeSeconds
        let rss = residentSetSize()
        let queues = server.processor?.queueCount ?? 0
        let onDisk = configuration.store == .diskQueue
        let sections: [(name: String, lines: [String])] = [
            ("Server", [
                "redis_version:\(redisCompatibilityVersion)",
                "diskqueue_version:\(version)",
                "diskqueue_program:\(configuration.programName)",
                "redis_mode:standalone",
                "os:Linux",
                "arch_bits:64",
                "multiplexing_api:epoll",
                "process_id:\(getpid())",
                "tcp_port:\(server.boundPort.load(ordering: .relaxed))",
                "uptime_in_seconds:\(uptime)",
                "uptime_in_days:\(uptime / 86_400)",
                "event_loop_threads:\(configuration.eventLoopThreads)",
            ]),
            ("Clients", [
                "connected_clients:\(server.registry.count)",
                "maxclients:\(configuration.maximumClients)",
                "blocked_clients:\(server.processor?.waitingClients ?? 0)",
            ]),
            ("Memory", [
                "used_memory:\(rss)",
                "used_memory_human:\(humanReadable(rss))",
                "used_memory_rss:\(rss)",
                "maxmemory:\(configuration.memoryLimit ?? 0)",
                "maxmemory_human:\(humanReadable(configuration.memoryLimit ?? 0))",
                "maxmemory_policy:noeviction",
            ]),
            ("Persistence", [
                "loading:0",
                "aof_enabled:\(onDisk ? 1 : 0)",
                "diskqueue_storage:\(onDisk ? "berkeley-db" : "ram")",
                "diskqueue_fsync:\(onDisk ? configuration.fsync.rawValue : "none")",
            ]),
            ("Stats", [
                "total_connections_received:\(statistics.connectionsAccepted.load(ordering: .relaxed))",
                "total_commands_processed:\(statistics.commandsProcessed.load(ordering: .relaxed))",
                "total_net_input_bytes:\(statistics.bytesRead.load(ordering: .relaxed))",
                "total_net_output_bytes:\(statistics.bytesWritten.load(ordering: .relaxed))",
                "rejected_connections:\(statistics.connectionsRejected.load(ordering: .relaxed))",
            ]),
            ("Replication", [
                "role:master",
                "connected_slaves:0",
            ]),
            // Cluster-aware clients read this line to choose their mode.
            ("Cluster", ["cluster_enabled:0"]),
            ("Keyspace", queues > 0 ? ["db0:keys=\(queues),expires=0,avg_ttl=0"] : []),
        ]
        let wanted = Set(requested)
        let everything = requested.isEmpty || wanted.contains("all") || wanted.contains("everything") || wanted.contains("default")
        return sections
            .filter { everything || wanted.contains($0.name.lowercased()) }
            .map { section in (["# \(section.name)"] + section.lines).map { $0 + "\r\n" }.joined() }
            .joined(separator: "\r\n")
    }

    /// The process's resident memory, from /proc/self/statm (its second field, in pages).
    static func residentSetSize() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }

    static func humanReadable(_ bytes: Int) -> String {
        let units = [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (unit, size) in units where bytes >= size {
            let value = Double(bytes) / Double(size)
            return "\((value * 100).rounded() / 100)\(unit)"
        }
        return "\(bytes)B"
    }
}
