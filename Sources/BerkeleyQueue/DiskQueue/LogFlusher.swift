import Foundation
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Makes committed transactions durable while the database thread goes on with the next ones, and
/// only then releases their replies (`--fsync always`).
///
/// Transactions commit with `DB_TXN_WRITE_NOSYNC`, which hands their log records to the operating
/// system at commit. This thread then `fdatasync`s Berkeley DB's log files through descriptors of
/// its own (an fsync covers a file's data whichever descriptor asks) and runs the replies that
/// were waiting for it. So one sync serves every batch committed while the previous sync ran, and
/// the database thread never waits on the disk; Berkeley DB itself is only ever called from the
/// database thread.
///
/// Batches pass through in order, even those that wrote nothing, so that no reply overtakes an
/// earlier one of the same client.
final class LogFlusher: @unchecked Sendable {
    /// One batch's replies, released once everything it committed is on disk.
    struct Batch {
        var wrote: Bool
        /// The environment it was committed in (see ``failEpoch(_:)``).
        var epoch: Int
        /// Delivers the replies, or failures in their place when `durable` is false.
        var release: (_ durable: Bool) -> Void
    }

    private let directory: String
    private let condition = ConditionLock(value: false)
    // Guarded by `condition`.
    private var batches: [Batch] = []
    private var isStopping = false
    /// Environments whose log could not be synced: nothing committed in them can be acknowledged.
    private let failedEpoch = Atomic<Int>(-1)
    private let finished = ConditionLock(value: false)

    /// The log file last synced, and its number.
    private var logFile: (descriptor: Int32, number: Int)?

    init(directory: String) {
        self.directory = directory
    }

    func start() {
        Thread.start(named: "diskqueue-flush") { [self] in self.run() }
    }

    func submit(_ batch: Batch) {
        self.condition.lock()
        self.batches.append(batch)
        self.condition.unlock(withValue: true)
    }

    /// Everything committed in environment `epoch` and not yet released is failed: the database
    /// thread reopens the environment, whose recovery keeps only what reached the disk.
    func failEpoch(_ epoch: Int) {
        self.failedEpoch.store(epoch, ordering: .sequentiallyConsistent)
    }

    /// Whether a sync failed since environment `epoch` was opened.
    func hasFailed(epoch: Int) -> Bool {
        self.failedEpoch.load(ordering: .sequentiallyConsistent) == epoch
    }

    /// Releases what is waiting, then stops the thread.
    func stop() {
        self.condition.lock()
        self.isStopping = true
        self.condition.unlock(withValue: true)
        self.finished.lock(whenValue: true)
        self.finished.unlock()
    }

    private func run() {
        while true {
            self.condition.lock(whenValue: true)
            let taken = self.batches
            self.batches.removeAll(keepingCapacity: true)
            let isStopping = self.isStopping
            // A stop asked for stays visible, or the next wait would never end.
            self.condition.unlock(withValue: isStopping)

            if !taken.isEmpty {
                var synced = true
                if taken.contains(where: \.wrote) {
                    synced = self.syncLog()
                    if !synced, let epoch = taken.last?.epoch {
                        self.failEpoch(epoch)
                    }
                }
                for batch in taken {
                    batch.release(synced && !self.hasFailed(epoch: batch.epoch))
                }
            }
            if isStopping && taken.isEmpty {
                break
            }
        }
        if let logFile {
            close(logFile.descriptor)
        }
        self.finished.lock()
        self.finished.unlock(withValue: true)
    }

    /// Syncs the newest log file, and any that appeared since the last sync (with the directory,
    /// which holds their names).
    private func syncLog() -> Bool {
        var number = self.logFile?.number ?? self.newestLogNumber()
        guard number > 0 else { return true }
        var openedNew = false
        while true {
            if self.logFile?.number != number {
                guard let descriptor = self.open(logNumber: number) else { return false }
                if let logFile {
                    // Its tail belongs to transactions committed before the switch.
                    guard fdatasync(logFile.descriptor) == 0 else { return false }
                    close(logFile.descriptor)
                }
                self.logFile = (descriptor, number)
                openedNew = true
            }
            guard fdatasync(self.logFile!.descriptor) == 0 else { return false }
            // Berkeley DB moved on to a new file meanwhile: sync that one too.
            guard access(self.path(logNumber: number + 1), F_OK) == 0 else { break }
            number += 1
        }
        if openedNew {
            let directory = Glibc.open(self.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { return false }
            defer { close(directory) }
            guard fsync(directory) == 0 else { return false }
        }
        return true
    }

    private func path(logNumber: Int) -> String {
        let digits = String(logNumber)
        return "\(self.directory)/log.\(String(repeating: "0", count: max(0, 10 - digits.count)))\(digits)"
    }

    private func open(logNumber: Int) -> Int32? {
        let descriptor = Glibc.open(self.path(logNumber: logNumber), O_RDONLY | O_CLOEXEC)
        return descriptor >= 0 ? descriptor : nil
    }

    /// The highest-numbered log file in the directory, or 0 when there is none yet.
    private func newestLogNumber() -> Int {
        guard let stream = opendir(self.directory) else { return 0 }
        defer { closedir(stream) }
        var newest = 0
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("log."), let number = Int(name.dropFirst(4)) {
                newest = max(newest, number)
            }
        }
        return newest
    }
}
