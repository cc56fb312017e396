import MemcacheText
import NIOCore
import QueueCore

#if canImport(Glibc)
import Glibc
#endif

/// One memcached text-protocol client (SPEC §4): authentication, `version`, `verbosity`, `quit`,
/// `stats` and the codec's error replies here; everything about keys in the store.
struct MemcacheSession<Store: MemcacheStore>: WireSession {
    typealias PendingReply = Store.PendingReply

    var decoder: MemcacheRequestDecoder
    var store: Store
    let server: ServerContext

    init(server: ServerContext) {
        self.server = server
        self.store = Store(server: server)
        self.decoder = MemcacheRequestDecoder(
            limits: .init(
                maximumValueLength: server.configuration.maximumMessageSize,
                // Queue names keep SPEC §4's key rule; the cache takes keys as memcached does.
                allowsControlCharactersInKeys: server.configuration.store == .cache
            )
        )
        self.decoder.requiresAuthentication = server.memcacheCredentials != nil
    }

    static var tooManyClientsReply: StaticString { "SERVER_ERROR Too many open connections\r\n" }

    static func writeDecodingError(_ error: any Error, into output: inout ByteBuffer) {
        // The decoder reports bad input as requests; anything thrown is our own fault.
        output.writeMemcacheServerError("\(error)")
    }

    static func render(_ reply: QueueReply, for pending: PendingReply, into output: inout ByteBuffer) {
        Store.render(reply, for: pending, into: &output)
    }

    mutating func handle(_ request: MemcacheRequest, on connection: Connection<MemcacheSession<Store>>) {
        switch request {
        case .retrieval(let retrieval):
            self.store.retrieve(retrieval, on: connection)
        case .storage(let storage):
            self.store.store(storage, on: connection)
        case .delete(let key, let noreply):
            self.store.delete(key, noreply: noreply, on: connection)
        case .increment(let key, let delta, let noreply):
            self.store.adjust(key, by: delta, increment: true, noreply: noreply, on: connection)
        case .decrement(let key, let delta, let noreply):
            self.store.adjust(key, by: delta, increment: false, noreply: noreply, on: connection)
        case .touch(let key, let exptime, let noreply):
            self.store.touch(key, exptime: exptime, noreply: noreply, on: connection)
        case .flushAll(let delay, let noreply):
            self.store.flushAll(delay: delay, noreply: noreply, on: connection)
        case .stats(let arguments):
            if arguments.isEmpty {
                let server = self.server
                let snapshot = self.store.statisticsSnapshot()
                connection.reply { Self.writeStatistics(server, snapshot, into: &$0) }
            } else if arguments.first == ByteBuffer(string: "reset") {
                // memcached reads only the subcommand: `stats reset x` resets too.
                self.server.statistics.reset()
                self.store.resetStatistics()
                connection.reply { $0.writeStaticString("RESET\r\n") }
            } else if !self.store.stats(arguments, on: connection) {
                connection.reply { $0.writeMemcacheReply(.error) }
            }
        case .version:
            connection.reply { $0.writeMemcacheVersion(ServerInfo.memcachedVersion) }
        case .verbosity(_, let noreply):
            if !noreply {
                connection.reply { $0.writeMemcacheReply(.ok) }
            }
        case .quit:
            connection.closeAfterReplies()
        case .authenticate(let user, let password):
            let accepted = self.server.memcacheCredentials?.contains { $0.user == user && $0.password == password } ?? true
            self.server.statistics.authenticationCommands.add(1, ordering: .relaxed)
            if accepted {
                self.decoder.requiresAuthentication = false
            } else {
                self.server.statistics.authenticationErrors.add(1, ordering: .relaxed)
            }
            connection.reply { $0.writeMemcacheReply(accepted ? .stored : .authenticationFailure) }
        case .error(let error):
            self.store.decoderRefused(error)
            connection.reply { $0.writeMemcacheError(error) }
            if error.closesConnection {
                connection.closeAfterReplies()
            }
        }
    }

    /// Plain `stats`: the server's lines and the store's, in memcached's order. Lines about
    /// memcached's own machinery (its slab allocator, LRU crawler, hash table, log workers) are
    /// left out: this server has none of them to report on.
    private static func writeStatistics(
        _ server: ServerContext, _ storeStatistics: Store.StatisticsSnapshot, into output: inout ByteBuffer
    ) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> String {
            let microseconds = String(Int(time.tv_usec))
            return "\(time.tv_sec).\(String(repeating: "0", count: 6 - microseconds.count))\(microseconds)"
        }
        let statistics = server.statistics
        output.writeMemcacheStat("pid", Int(getpid()))
        output.writeMemcacheStat("uptime", Int(statistics.uptimeSeconds))
        output.writeMemcacheStat("time", Int(WallClock.now().seconds))
        output.writeMemcacheStat(named: "version", value: ServerInfo.memcachedVersion)
        output.writeMemcacheStat("pointer_size", 64)
        output.writeMemcacheStat(named: "rusage_user", value: seconds(usage.ru_utime))
        output.writeMemcacheStat(named: "rusage_system", value: seconds(usage.ru_stime))
        output.writeMemcacheStat("max_connections", server.configuration.maximumClients)
        output.writeMemcacheStat("curr_connections", server.registry.count)
        output.writeMemcacheStat("total_connections", statistics.connectionsAccepted.load(ordering: .relaxed))
        output.writeMemcacheStat("rejected_connections", statistics.connectionsRejected.load(ordering: .relaxed))
        Store.writeStatistics(.commands, of: storeStatistics, into: &output)
        output.writeMemcacheStat("auth_cmds", statistics.authenticationCommands.load(ordering: .relaxed))
        output.writeMemcacheStat("auth_errors", statistics.authenticationErrors.load(ordering: .relaxed))
        output.writeMemcacheStat("bytes_read", statistics.bytesRead.load(ordering: .relaxed))
        output.writeMemcacheStat("bytes_written", statistics.bytesWritten.load(ordering: .relaxed))
        Store.writeStatistics(.limits, of: storeStatistics, into: &output)
        output.writeMemcacheStat("accepting_conns", 1)
        output.writeMemcacheStat("listen_disabled_num", 0)
        output.writeMemcacheStat("threads", server.configuration.eventLoopThreads)
        output.writeMemcacheStat("malloc_fails", 0)
        Store.writeStatistics(.contents, of: storeStatistics, into: &output)
        output.writeMemcacheReply(.end)
    }
}
