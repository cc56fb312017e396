import QueueServer

@main
enum Program {
    static func main() async {
        await ServerCommand<MemcacheCacheProgram>.main()
    }
}
