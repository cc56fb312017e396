import QueueServer

@main
struct Program {
    static func main() {}
}
