import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Listens and serves one program until graceful shutdown (SIGTERM/SIGINT): then it stops
/// accepting, lets every connection answer what it has in flight, and shuts the processor down,
/// which makes the disk state durable.
struct QueueServerService<Session: WireSession>: Service {
    let server: ServerContext
    let group: MultiThreadedEventLoopGroup

    func run() async throws {
        let server = self.server
        let configuration = server.configuration
        let flushers = ReplyFlusher.perLoop(of: self.group)
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that shuts its sending side still gets the replies to what it sent.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator())
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler: any ChannelHandler
                    if let id = server.registry.admit() {
                        handler = Connection<Session>(
                            id: id, server: server, eventLoop: channel.eventLoop,
                            flusher: flushers[ObjectIdentifier(channel.eventLoop)]!
                        )
                    } else {
                        server.statistics.connectionsRejected.add(1, ordering: .relaxed)
                        handler = RefusingHandler(reply: Session.tooManyClientsReply)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }

        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let port = channel.localAddress?.port ?? configuration.port
        server.boundPort.store(port, ordering: .relaxed)
        server.logger.notice(
            "\(configuration.programName) ready to accept connections on \(configuration.host):\(port)"
        )

        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }

        server.logger.notice("shutting down: no new connections; finishing the commands in flight")
        try? await server.registry.quiesceAll(on: self.group.next()).get()
        if let processor = server.processor {
            try await processor.shutdown()
        }
        server.logger.notice("\(configuration.programName) stopped")
    }
}
