import ASCIIBytes
import NIOCore
import RESP

/// PING, ECHO, QUIT, SELECT, HELLO, AUTH and CLIENT: answered by the connection itself, in Redis's words.
extension RESPSession {
    mutating func handleConnectionCommand(_ command: RESPCommand, on connection: Connection<RESPSession>) {
        let argv = self.argv
        switch command {
        case .ping:
            guard argv.count <= 2 else {
                return connection.reply { $0.writeRESPError("wrong number of arguments for 'ping' command") }
            }
            connection.reply { output in
                if argv.count == 2 {
                    output.writeRESPBulk(argv[1])
                } else {
                    output.writeStaticString("+PONG\r\n")
                }
            }
        case .echo:
            connection.reply { $0.writeRESPBulk(argv[1]) }
        case .quit:
            connection.reply { $0.writeStaticString("+OK\r\n") }
            connection.closeAfterReplies()
        case .select:
            connection.reply { output in
                switch argv[1].readableStrictInt64 {
                case nil: output.writeRESPError("value is not an integer or out of range")
                case 0: output.writeStaticString("+OK\r\n")
                default: output.writeRESPError("DB index is out of range")
                }
            }
        case .auth:
            let user = argv.count == 3 ? argv[1] : nil
            guard argv.count <= 3 else {
                return connection.reply { $0.writeRESPError("syntax error") }
            }
            if self.server.configuration.password == nil && user == nil {
                return connection.reply {
                    $0.writeRESPError(
                        "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
                    )
                }
            }
            let accepted = self.authenticate(user: user, password: argv[argv.count - 1])
            connection.reply { output in
                if accepted {
                    output.writeStaticString("+OK\r\n")
                } else {
                    output.writeRESPError(code: "WRONGPASS", "invalid username-password pair or user is disabled.")
                }
            }
        case .hello:
            self.hello(on: connection)
        case .client:
            self.client(on: connection)
        default:
            preconditionFailure("\(command) is not a connection command")
        }
    }

    /// Checks a password against `--requirepass`; only Redis's `default` user exists. Without a
    /// password configured, `default` accepts any password, as Redis's `nopass` user does.
    private mutating func authenticate(user: ByteBuffer?, password: ByteBuffer) -> Bool {
        if let user, user != ByteBuffer(string: "default") {
            return false
        }
        guard let required = self.server.configuration.password else {
            return true
        }
        guard password == ByteBuffer(string: required) else {
            return false
        }
        self.isAuthenticated = true
        self.decoder.requiresAuthentication = false
        return true
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]]
    private mutating func hello(on connection: Connection<RESPSession>) {
        let argv = self.argv
        var version = self.version
        if argv.count >= 2 {
            guard let requested = argv[1].readableStrictInt64 else {
                return connection.reply { $0.writeRESPError("Protocol version is not an integer or out of range") }
            }
            guard let supported = RESPVersion(rawValue: Int(requested)) else {
                return connection.reply { $0.writeRESPError(code: "NOPROTO", "unsupported protocol version") }
            }
            version = supported
        }
        var credentials: (user: ByteBuffer, password: ByteBuffer)?
        var name: ByteBuffer?
        var index = 2
        while index < argv.count {
            let remaining = argv.count - index - 1
            if argv[index].equalsCaseInsensitive("AUTH") && remaining >= 2 {
                credentials = (argv[index + 1], argv[index + 2])
                index += 3
            } else if argv[index].equalsCaseInsensitive("SETNAME") && remaining >= 1 {
                name = argv[index + 1]
                index += 2
            } else {
                let option = argv[index]
                return connection.reply { output in
                    var message = ByteBuffer(string: "Syntax error in HELLO option '")
                    message.writeCString(option)
                    message.writeStaticString("'")
                    output.writeRESPError(message: message)
                }
            }
        }
        if let credentials {
            guard self.authenticate(user: credentials.user, password: credentials.password) else {
                return connection.reply {
                    $0.writeRESPError(code: "WRONGPASS", "invalid username-password pair or user is disabled.")
                }
            }
        }
        guard self.isAuthenticated else {
            return connection.reply {
                $0.writeRESPError(
                    code: "NOAUTH",
                    "HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
                )
            }
        }
        if let name {
            guard Self.isValidClientName(name) else {
                return connection.reply { $0.writeRESPError("Client names cannot contain spaces, newlines or special characters.") }
            }
            self.clientName = name.readableBytes > 0 ? name : nil
        }
        self.version = version
        let id = connection.id
        connection.reply { output in
            output.writeRESPMapHeader(7, version)
            output.writeRESPBulk("server")
            output.writeRESPBulk("redis")
            output.writeRESPBulk("version")
            output.writeRESPBulk(ServerInfo.redisCompatibilityVersion)
            output.writeRESPBulk("proto")
            output.writeRESPInteger(version.rawValue)
            output.writeRESPBulk("id")
            output.writeRESPInteger(id)
            output.writeRESPBulk("mode")
            output.writeRESPBulk("standalone")
            output.writeRESPBulk("role")
            output.writeRESPBulk("master")
            output.writeRESPBulk("modules")
            output.writeRESPArrayHeader(0)
        }
    }

    /// CLIENT SETNAME | GETNAME | ID | SETINFO | HELP
    private mutating func client(on connection: Connection<RESPSession>) {
        let argv = self.argv
        guard let subcommand = self.subcommand(of: .client, on: connection) else { return }
        switch subcommand {
        case "client|setname":
            guard Self.isValidClientName(argv[2]) else {
                return connection.reply { $0.writeRESPError("Client names cannot contain spaces, newlines or special characters.") }
            }
            self.clientName = argv[2].readableBytes > 0 ? argv[2] : nil
            connection.reply { $0.writeStaticString("+OK\r\n") }
        case "client|getname":
            let name = self.clientName
            let version = self.version
            connection.reply { output in
                if let name {
                    output.writeRESPBulk(name)
                } else {
                    output.writeRESPNull(version)
                }
            }
        case "client|id":
            let id = connection.id
            connection.reply { $0.writeRESPInteger(id) }
        case "client|setinfo":
            // As Redis 7.2, which added it: LIB-NAME or LIB-VER, without spaces or newlines.
            let value = String(buffer: argv[3])
            guard Self.isValidClientName(argv[3]) else {
                let attribute = String(buffer: argv[2]).lowercased()
                return connection.reply { $0.writeRESPError("\(attribute) cannot contain spaces, newlines or special characters.") }
            }
            if argv[2].equalsCaseInsensitive("LIB-NAME") {
                self.libraryName = value
            } else if argv[2].equalsCaseInsensitive("LIB-VER") {
                self.libraryVersion = value
            } else {
                let option = String(buffer: argv[2])
                return connection.reply { $0.writeRESPError("Unrecognized option '\(option)'") }
            }
            connection.reply { $0.writeStaticString("+OK\r\n") }
        default:
            self.help(for: .client, on: connection)
        }
    }

    /// Redis accepts names of printable ASCII without spaces.
    static func isValidClientName(_ name: ByteBuffer) -> Bool {
        name.readableBytesView.allSatisfy { $0 > 32 && $0 < 127 }
    }

    /// Finds the subcommand of a container command and checks its arity; replies Redis's error
    /// and returns nil when it is unknown or has the wrong number of arguments.
    func subcommand(of command: RESPCommand, on connection: Connection<RESPSession>) -> String? {
        let argv = self.argv
        let name = CommandName(argv[1])
        guard let spec = command.spec.subcommands.first(where: { CommandName(String($0.name.split(separator: "|")[1])) == name }) else {
            let typed = argv[1]
            let container = command.spec.name.uppercased()
            connection.reply { output in
                var message = ByteBuffer(string: "unknown subcommand '")
                message.writeCString(typed, limit: 128)
                message.writeString("'. Try \(container) HELP.")
                output.writeRESPError(message: message)
            }
            return nil
        }
        guard spec.accepts(argumentCount: argv.count) else {
            connection.reply { $0.writeRESPError("wrong number of arguments for '\(spec.name)' command") }
            return nil
        }
        return spec.name
    }

    /// The HELP of a container command: its subcommands, one status line each.
    func help(for command: RESPCommand, on connection: Connection<RESPSession>) {
        let spec = command.spec
        var lines = ["\(spec.name.uppercased()) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
        for subcommand in spec.subcommands {
            lines.append(subcommand.name.split(separator: "|")[1].uppercased())
            lines.append("    \(subcommand.summary).")
        }
        connection.reply { output in
            output.writeRESPArrayHeader(lines.count)
            for line in lines {
                output.writeRESPSimpleString(line)
            }
        }
    }
}
