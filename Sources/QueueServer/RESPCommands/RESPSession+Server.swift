import NIOCore
import QueueCore
import RESP

/// COMMAND, CONFIG, INFO and TIME: what redis-cli, redis-benchmark and client libraries ask a
/// server about itself.
extension RESPSession {
    mutating func handleServerCommand(_ command: RESPCommand, on connection: Connection<RESPSession>) {
        let argv = self.argv
        let version = self.version
        switch command {
        case .command:
            self.command(on: connection)
        case .config:
            guard let subcommand = self.subcommand(of: .config, on: connection) else { return }
            switch subcommand {
            case "config|get":
                let parameters = ServerInfo.configParameters(self.server)
                var matches: [(String, String)] = []
                for pattern in argv[2...] {
                    let typed = String(buffer: pattern)
                    let glob = GlobPattern(ByteBuffer(string: typed.lowercased()))
                    for (name, value) in parameters where glob.matches(ByteBuffer(string: name)) {
                        // Like Redis, an exact name comes back as it was typed.
                        let hasWildcards = typed.contains { "*?[".contains($0) }
                        if !matches.contains(where: { $0.0.lowercased() == name }) {
                            matches.append((hasWildcards ? name : typed, value))
                        }
                    }
                }
                connection.reply { output in
                    output.writeRESPMapHeader(matches.count, version)
                    for (name, value) in matches {
                        output.writeRESPBulk(name)
                        output.writeRESPBulk(value)
                    }
                }
            case "config|resetstat":
                connection.reply { $0.writeStaticString("+OK\r\n") }
            default:
                self.help(for: .config, on: connection)
            }
        case .info:
            let text = ServerInfo.infoText(self.server, sections: argv.dropFirst().map { String(buffer: $0).lowercased() })
            connection.reply { $0.writeRESPVerbatimText(text, version) }
        case .time:
            let now = WallClock.now()
            connection.reply { output in
                output.writeRESPArrayHeader(2)
                output.writeRESPBulk(decimal: Int(now.seconds))
                output.writeRESPBulk(decimal: Int(now.microseconds))
            }
        default:
            preconditionFailure("\(command) is not a server command")
        }
    }

    /// COMMAND LIST's one optional `FILTERBY MODULE name | ACLCAT category | PATTERN pattern`, as
    /// Redis 7.0 reads it: nil for anything else, a syntax error. There are no modules; categories
    /// and patterns ignore case, as Redis's do.
    private static func commandListFilter(_ argv: [ByteBuffer]) -> ((RESPCommand.Spec) -> Bool)? {
        if argv.count == 2 {
            return { _ in true }
        }
        guard argv.count == 5, argv[2].equalsCaseInsensitive("FILTERBY") else { return nil }
        let kind = argv[3]
        // Names and categories are lower-case: lower-casing the argument ignores case, as CONFIG GET does.
        let argument = String(buffer: argv[4]).lowercased()
        if kind.equalsCaseInsensitive("MODULE") {
            return { _ in false }
        } else if kind.equalsCaseInsensitive("ACLCAT") {
            let category = "@" + argument
            return { $0.categories.contains(category) }
        } else if kind.equalsCaseInsensitive("PATTERN") {
            let pattern = GlobPattern(ByteBuffer(string: argument))
            return { pattern.matches(ByteBuffer(string: $0.name)) }
        }
        return nil
    }

    /// COMMAND [COUNT | INFO name... | DOCS name... | LIST [FILTERBY ...] | HELP]
    private func command(on connection: Connection<RESPSession>) {
        let argv = self.argv
        let version = self.version
        let all = RESPCommand.allCases.map(\.spec)
        guard argv.count > 1 else {
            return connection.reply { output in
                output.writeRESPArrayHeader(all.count)
                for spec in all {
                    output.writeCommandInfo(spec, version)
                }
            }
        }
        guard let subcommand = self.subcommand(of: .command, on: connection) else { return }
        let named = argv.dropFirst(2).map { CommandName($0).flatMap { RESPCommand.byName[$0]?.command.spec } }
        switch subcommand {
        case "command|count":
            connection.reply { $0.writeRESPInteger(all.count) }
        case "command|info":
            let specs = argv.count == 2 ? all.map { Optional($0) } : named
            connection.reply { output in
                output.writeRESPArrayHeader(specs.count)
                for spec in specs {
                    if let spec {
                        output.writeCommandInfo(spec, version)
                    } else {
                        output.writeRESPNull(version)
                    }
                }
            }
        case "command|docs":
            let specs = argv.count == 2 ? all : named.compactMap { $0 }
            connection.reply { output in
                output.writeRESPMapHeader(specs.count, version)
                for spec in specs {
                    output.writeRESPBulk(spec.name)
                    output.writeCommandDocs(spec, version)
                }
            }
        case "command|list":
            guard let filter = Self.commandListFilter(argv) else {
                return connection.reply { $0.writeRESPError("syntax error") }
            }
            let names = all.flatMap { [$0] + $0.subcommands }.filter(filter).map(\.name)
            connection.reply { output in
                output.writeRESPArrayHeader(names.count)
                for name in names {
                    output.writeRESPBulk(name)
                }
            }
        default:
            self.help(for: .command, on: connection)
        }
    }
}

extension ByteBuffer {
    /// One entry of COMMAND INFO, in Redis 7's ten-field shape.
    mutating func writeCommandInfo(_ spec: RESPCommand.Spec, _ version: RESPVersion) {
        self.writeRESPArrayHeader(10)
        self.writeRESPBulk(spec.name)
        self.writeRESPInteger(spec.arity)
        self.writeRESPSetHeader(spec.flags.count, version)
        for flag in spec.flags {
            self.writeRESPSimpleString(flag)
        }
        self.writeRESPInteger(spec.keys.first)
        self.writeRESPInteger(spec.keys.last)
        self.writeRESPInteger(spec.keys.step)
        self.writeRESPSetHeader(spec.categories.count, version)
        for category in spec.categories {
            self.writeRESPSimpleString(category)
        }
        // Empty lists are RESP3 sets in Redis 7.0's reply (so are key specifications, which these
        // entries leave out); a list of subcommands is an array.
        self.writeRESPSetHeader(0, version)  // tips
        self.writeRESPSetHeader(0, version)  // key specifications
        if spec.subcommands.isEmpty {
            self.writeRESPSetHeader(0, version)
        } else {
            self.writeRESPArrayHeader(spec.subcommands.count)
        }
        for subcommand in spec.subcommands {
            self.writeCommandInfo(subcommand, version)
        }
    }

    /// One entry of COMMAND DOCS: summary, since, group, complexity and subcommands.
    mutating func writeCommandDocs(_ spec: RESPCommand.Spec, _ version: RESPVersion) {
        let hasSubcommands = !spec.subcommands.isEmpty
        self.writeRESPMapHeader(hasSubcommands ? 5 : 4, version)
        for (field, value) in [("summary", spec.summary), ("since", spec.since), ("group", spec.group), ("complexity", spec.complexity)] {
            self.writeRESPBulk(field)
            self.writeRESPBulk(value)
        }
        if hasSubcommands {
            self.writeRESPBulk("subcommands")
            self.writeRESPMapHeader(spec.subcommands.count, version)
            for subcommand in spec.subcommands {
                self.writeRESPBulk(subcommand.name)
                var docs = subcommand
                docs.group = spec.group
                self.writeCommandDocs(docs, version)
            }
        }
    }
}
