/// Every command the Redis protocol programs know, with what `COMMAND` reports about it.
enum RESPCommand: CaseIterable, Sendable {
    case sadd, spop, scard, sismember, smismember, srem
    case rpush, lpush, lpop, rpop, llen, lrange, lindex, lrem, lmove, rpoplpush
    case blpop, brpop, blmove, brpoplpush
    case del, exists, type, dbsize, flushdb, flushall, keys, scan
    case ping, echo, quit, select, hello, auth, client
    case command, config, info, time

    /// What Redis's command table says of a command, as far as clients look at it.
    struct Spec: Sendable {
        /// Lower-case, `container|sub` for subcommands: the name error replies quote.
        var name: String
        /// Redis's arity: exactly `n` arguments (the name included), or at least `-n`.
        var arity: Int
        var flags: [String]
        /// First key, last key (-1: the last argument), step; all 0 for commands without keys.
        var keys: (first: Int, last: Int, step: Int) = (0, 0, 0)
        var categories: [String]
        var group: String
        var summary: String
        var since: String
        var complexity: String = "O(1)"
        var subcommands: [Spec] = []

        func accepts(argumentCount: Int) -> Bool {
            Arity(self.arity).accepts(argumentCount: argumentCount)
        }
    }

    /// Redis's arity rule on its own: a plain value, so the per-request lookup copies no strings.
    struct Arity: Sendable {
        /// Exactly `n` arguments (the name included), or at least `-n`.
        var value: Int

        init(_ value: Int) {
            self.value = value
        }

        func accepts(argumentCount: Int) -> Bool {
            self.value >= 0 ? argumentCount == self.value : argumentCount >= -self.value
        }
    }

    /// Commands that work before AUTH when a password is required.
    var isAllowedBeforeAuthentication: Bool {
        self == .auth || self == .hello || self == .quit
    }

    /// Every command by name, with its arity: one lookup per request finds both.
    static let byName = CommandNameTable<(command: RESPCommand, arity: Arity)>(
        specs.map { (CommandName($0.value.name), ($0.key, Arity($0.value.arity))) }
    )

    var spec: Spec { Self.specs[self]! }

    private static let specs: [RESPCommand: Spec] = {
        let writeSet = ["@write", "@set", "@fast"]
        let readSet = ["@read", "@set", "@fast"]
        let connection = ["@fast", "@connection"]
        let writeList = ["@write", "@list", "@fast"]
        let blocking = ["@write", "@list", "@slow", "@blocking"]
        func list(_ name: String, _ arity: Int, _ flags: [String], _ keys: (Int, Int, Int), _ categories: [String], _ summary: String, _ since: String, complexity: String = "O(1)") -> Spec {
            Spec(name: name, arity: arity, flags: flags, keys: keys, categories: categories, group: "list", summary: summary, since: since, complexity: complexity)
        }
        func sub(_ name: String, _ arity: Int, _ flags: [String], _ categories: [String], _ summary: String) -> Spec {
            Spec(name: name, arity: arity, flags: flags, categories: categories, group: "", summary: summary, since: "1.0.0")
        }
        return [
            .sadd: Spec(name: "sadd", arity: -3, flags: ["write", "denyoom", "fast"], keys: (1, 1, 1), categories: writeSet,
                        group: "set", summary: "Push one or more messages to the tail of a queue", since: "1.0.0"),
            .spop: Spec(name: "spop", arity: -2, flags: ["write", "fast"], keys: (1, 1, 1), categories: writeSet,
                        group: "set", summary: "Pop the oldest message (or up to count messages) of a queue", since: "1.0.0"),
            .scard: Spec(name: "scard", arity: 2, flags: ["readonly", "fast"], keys: (1, 1, 1), categories: readSet,
                         group: "set", summary: "Number of messages in a queue", since: "1.0.0"),
            .sismember: Spec(name: "sismember", arity: 3, flags: ["readonly", "fast"], keys: (1, 1, 1), categories: readSet,
                             group: "set", summary: "Whether a message is queued", since: "1.0.0"),
            .smismember: Spec(name: "smismember", arity: -3, flags: ["readonly", "fast"], keys: (1, 1, 1), categories: readSet,
                              group: "set", summary: "Whether each message is queued", since: "6.2.0", complexity: "O(N)"),
            .srem: Spec(name: "srem", arity: -3, flags: ["write", "fast"], keys: (1, 1, 1), categories: writeSet,
                        group: "set", summary: "Remove messages wherever they stand in a queue", since: "1.0.0", complexity: "O(N)"),
            .rpush: list("rpush", -3, ["write", "denyoom", "fast"], (1, 1, 1), writeList, "Push messages at the tail of a queue", "1.0.0"),
            .lpush: list("lpush", -3, ["write", "denyoom", "fast"], (1, 1, 1), writeList, "Push messages at the head of a queue", "1.0.0"),
            .lpop: list("lpop", -2, ["write", "fast"], (1, 1, 1), writeList, "Pop from the head of a queue", "1.0.0"),
            .rpop: list("rpop", -2, ["write", "fast"], (1, 1, 1), writeList, "Pop from the tail of a queue", "1.0.0"),
            .llen: list("llen", 2, ["readonly", "fast"], (1, 1, 1), ["@read", "@list", "@fast"], "Number of messages in a queue", "1.0.0"),
            .lrange: list("lrange", 4, ["readonly"], (1, 1, 1), ["@read", "@list", "@slow"], "Messages in a range of positions", "1.0.0", complexity: "O(S+N)"),
            .lindex: list("lindex", 3, ["readonly"], (1, 1, 1), ["@read", "@list", "@slow"], "The message at a position", "1.0.0", complexity: "O(N)"),
            .lrem: list("lrem", 4, ["write"], (1, 1, 1), ["@write", "@list", "@slow"], "Remove copies of a message", "1.0.0", complexity: "O(N+M)"),
            .lmove: list("lmove", 5, ["write", "denyoom"], (1, 2, 1), ["@write", "@list", "@slow"], "Move a message from one queue to another", "6.2.0"),
            .rpoplpush: list("rpoplpush", 3, ["write", "denyoom"], (1, 2, 1), ["@write", "@list", "@slow"], "Move a message from the tail of one queue to the head of another", "1.2.0"),
            .blpop: list("blpop", -3, ["write", "noscript", "blocking"], (1, -2, 1), blocking, "Pop from the head of the first non-empty queue, waiting for one", "2.0.0", complexity: "O(N)"),
            .brpop: list("brpop", -3, ["write", "noscript", "blocking"], (1, -2, 1), blocking, "Pop from the tail of the first non-empty queue, waiting for one", "2.0.0", complexity: "O(N)"),
            .blmove: list("blmove", 6, ["write", "denyoom", "noscript", "blocking"], (1, 2, 1), blocking, "LMOVE, waiting for a message", "6.2.0"),
            .brpoplpush: list("brpoplpush", 4, ["write", "denyoom", "noscript", "blocking"], (1, 2, 1), blocking, "RPOPLPUSH, waiting for a message", "2.2.0"),
            .del: Spec(name: "del", arity: -2, flags: ["write"], keys: (1, -1, 1), categories: ["@keyspace", "@write", "@slow"],
                       group: "generic", summary: "Delete queues", since: "1.0.0", complexity: "O(N)"),
            .exists: Spec(name: "exists", arity: -2, flags: ["readonly", "fast"], keys: (1, -1, 1), categories: ["@keyspace", "@read", "@fast"],
                          group: "generic", summary: "Count how many of the queues exist", since: "1.0.0", complexity: "O(N)"),
            .type: Spec(name: "type", arity: 2, flags: ["readonly", "fast"], keys: (1, 1, 1), categories: ["@keyspace", "@read", "@fast"],
                        group: "generic", summary: "Type of a key: set for a queue, none otherwise", since: "1.0.0"),
            .dbsize: Spec(name: "dbsize", arity: 1, flags: ["readonly", "fast"], categories: ["@keyspace", "@read", "@fast"],
                          group: "server", summary: "Number of queues", since: "1.0.0"),
            .flushdb: Spec(name: "flushdb", arity: -1, flags: ["write"], categories: ["@keyspace", "@write", "@slow", "@dangerous"],
                           group: "server", summary: "Delete every queue", since: "1.0.0", complexity: "O(N)"),
            .flushall: Spec(name: "flushall", arity: -1, flags: ["write"], categories: ["@keyspace", "@write", "@slow", "@dangerous"],
                            group: "server", summary: "Delete every queue", since: "1.0.0", complexity: "O(N)"),
            .keys: Spec(name: "keys", arity: 2, flags: ["readonly"], categories: ["@keyspace", "@read", "@slow", "@dangerous"],
                        group: "generic", summary: "Queue names matching a pattern", since: "1.0.0", complexity: "O(N)"),
            .scan: Spec(name: "scan", arity: -2, flags: ["readonly"], categories: ["@keyspace", "@read", "@slow"],
                        group: "generic", summary: "Iterate over queue names", since: "2.8.0", complexity: "O(N)"),
            .ping: Spec(name: "ping", arity: -1, flags: ["fast"], categories: connection,
                        group: "connection", summary: "Ping the server", since: "1.0.0"),
            .echo: Spec(name: "echo", arity: 2, flags: ["fast"], categories: connection,
                        group: "connection", summary: "Echo the given string", since: "1.0.0"),
            .quit: Spec(name: "quit", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], categories: connection,
                        group: "connection", summary: "Close the connection", since: "1.0.0"),
            .select: Spec(name: "select", arity: 2, flags: ["loading", "stale", "fast"], categories: connection,
                          group: "connection", summary: "Select database 0, the only one", since: "1.0.0"),
            .hello: Spec(name: "hello", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], categories: connection,
                         group: "connection", summary: "Handshake: protocol version, authentication, client name", since: "6.0.0"),
            .auth: Spec(name: "auth", arity: -2, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], categories: connection,
                        group: "connection", summary: "Authenticate to the server", since: "1.0.0"),
            .client: Spec(name: "client", arity: -2, flags: [], categories: ["@slow"], group: "connection",
                          summary: "A container for client connection commands", since: "2.4.0", subcommands: [
                              sub("client|setname", 3, ["noscript", "loading", "stale"], connection, "Set the current connection name"),
                              sub("client|getname", 2, ["noscript", "loading", "stale"], connection, "Get the current connection name"),
                              sub("client|id", 2, ["noscript", "loading", "stale"], connection, "Get the current connection id"),
                              sub("client|setinfo", 4, ["noscript", "loading", "stale"], connection, "Set client library name or version"),
                              sub("client|help", 2, ["loading", "stale"], connection, "Show helpful text about the different subcommands"),
                          ]),
            .command: Spec(name: "command", arity: -1, flags: ["loading", "stale"], categories: ["@slow", "@connection"],
                           group: "server", summary: "Get array of command details", since: "2.8.13", complexity: "O(N)", subcommands: [
                               sub("command|count", 2, ["loading", "stale"], ["@slow", "@connection"], "Get total number of commands"),
                               sub("command|info", -2, ["loading", "stale"], ["@slow", "@connection"], "Get array of specific command details"),
                               sub("command|docs", -2, ["loading", "stale"], ["@slow", "@connection"], "Get array of specific command documentation"),
                               sub("command|list", -2, ["loading", "stale"], ["@slow", "@connection"], "Get an array of command names"),
                               sub("command|help", 2, ["loading", "stale"], ["@slow", "@connection"], "Show helpful text about the different subcommands"),
                           ]),
            .config: Spec(name: "config", arity: -2, flags: [], categories: ["@slow"], group: "server",
                          summary: "A container for server configuration commands", since: "2.0.0", subcommands: [
                              sub("config|get", -3, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"], "Get the values of configuration parameters"),
                              sub("config|resetstat", 2, ["admin", "noscript", "loading", "stale"], ["@admin", "@slow", "@dangerous"], "Reset the stats returned by INFO"),
                              sub("config|help", 2, ["loading", "stale"], ["@slow"], "Show helpful text about the different subcommands"),
                          ]),
            .info: Spec(name: "info", arity: -1, flags: ["loading", "stale"], categories: ["@slow", "@dangerous"],
                        group: "server", summary: "Information and statistics about the server", since: "1.0.0"),
            .time: Spec(name: "time", arity: 1, flags: ["loading", "stale", "fast"], categories: ["@fast"],
                        group: "server", summary: "Return the current server time", since: "2.6.0"),
        ]
    }()
}
