import ArgumentParser
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One `user:password` line of an `--auth-file`, as memcached 1.6 reads it: a client sends
/// `set <any> <flags> <exptime> <length>` with `user password` as data before anything else.
struct MemcacheCredential: Sendable {
    var user: ByteBuffer
    var password: ByteBuffer

    /// Reads the file; blank lines are skipped, any other line must be `user:password`.
    static func load(from path: String) throws -> [MemcacheCredential] {
        guard let file = fopen(path, "r") else {
            throw ValidationError("cannot read --auth-file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var credentials: [MemcacheCredential] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        var number = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            number += 1
            let text = String(cString: line).trimmingTrailingNewline
            guard !text.isEmpty else { continue }
            guard let colon = text.firstIndex(of: ":") else {
                throw ValidationError("--auth-file \(path), line \(number): expected user:password")
            }
            credentials.append(
                MemcacheCredential(
                    user: ByteBuffer(string: String(text[..<colon])),
                    password: ByteBuffer(string: String(text[text.index(after: colon)...]))
                )
            )
        }
        guard !credentials.isEmpty else {
            throw ValidationError("--auth-file \(path) holds no user:password line")
        }
        return credentials
    }
}

extension String {
    fileprivate var trimmingTrailingNewline: String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" {
            text = text.dropLast()
        }
        return String(text)
    }
}
