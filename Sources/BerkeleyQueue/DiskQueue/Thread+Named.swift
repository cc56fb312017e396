import Foundation

extension Thread {
    /// Starts a thread that `top -H`, `ps -L` and debuggers show as `name` (at most 15 bytes).
    ///
    /// Foundation on Linux passes a name to the system only when it is set from inside the
    /// thread; set before `start()`, it never arrives, and the thread shows its creator's name
    /// (a Dispatch worker's, `oot.default-qos`).
    static func start(named name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            Thread.current.name = name
            body()
        }
        thread.start()
    }
}
