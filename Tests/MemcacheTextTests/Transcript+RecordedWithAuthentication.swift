/// Byte streams sent to memcached 1.6.18 started with `-Y <file>` (`--auth-file`) holding
/// `alice:secret` and `bob:pw`, each on a fresh connection, and every byte it answered.
///
/// Each stream holds at most one reply-producing command before authentication succeeds:
/// memcached keeps only the last reply of a read in that mode, which we do not reproduce.
extension Transcript {
    static let credentials = ["alice": "secret", "bob": "pw"]

    static let recordedWithAuthentication: [Transcript] = [
        Transcript("version\r\n", "CLIENT_ERROR unauthenticated\r\n"),
        Transcript("get a\r\n", "CLIENT_ERROR unauthenticated\r\n"),
        Transcript("set a 0 0 12\r\nalice secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a b c 12\r\nalice secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set x 0 0 12\nalice secret\r\nget x\r\n", "STORED\r\nEND\r\n"),
        Transcript("set \(k300) 0 0 12\r\nalice secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a 0 0 12 noreply\r\nalice secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a 0 0 13\r\nalice  secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a 0 0 16\r\nalice secret foo\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a 0 0 9\r\nbob pw xy\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a 0 0 4294967308\r\nalice secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n"),
        Transcript("set a 0 0 11\r\nalice wrong\r\n", "CLIENT_ERROR authentication failure\r\n"),
        Transcript("set a 0 0 10\r\nbob secret\r\n", "CLIENT_ERROR authentication failure\r\n"),
        Transcript("set a 0 0 5\r\nalice\r\n", "CLIENT_ERROR bad authentication token format\r\n"),
        Transcript("set a 0 0 12\r\nalice\tsecret\r\n", "CLIENT_ERROR bad authentication token format\r\n"),
        Transcript("set a 0 0 12\r\nalice secretXX", "CLIENT_ERROR bad command line termination\r\n"),
        Transcript("set a 0 0 x\r\n", "CLIENT_ERROR unauthenticated\r\n"),
        Transcript("set a 0 0 -1\r\n", "CLIENT_ERROR unauthenticated\r\n"),
        Transcript("set a 0\r\n", "CLIENT_ERROR unauthenticated\r\n"),
        Transcript("SET a 0 0 12\r\n", "CLIENT_ERROR unauthenticated\r\n"),
        Transcript("\(a3000)", "", closes: true),
    ]
}

/// A key longer than 250 bytes: memcached does not look at the key of the credentials `set`.
private let k300 = String(repeating: "k", count: 300)
/// 3000 bytes without a newline.
private let a3000 = String(repeating: "a", count: 3000)
