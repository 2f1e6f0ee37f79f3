import CLinux
import VaultCore
import VaultCrypto
import VaultGateway

#if canImport(Glibc)
  import Glibc
#endif

/// The fallback unlock session, for systems whose seccomp profile refuses keyctl: a small
/// process (`vault __unlock-agent`, started by `vault unlock`) that holds one session record in
/// locked memory, hands it over a 0600 unix socket to processes of its own uid only
/// (SO_PEERCRED), and exits at the session's end or on `lock`.
///
/// The protocol is one line per connection: `get` answers the record's bytes, `lock` answers
/// `ok` and ends the agent. Nothing is logged; the agent's standard streams are /dev/null.
enum UnlockAgent {
  /// The hidden command the launcher runs; never shown in help or completions.
  static let commandName = "__unlock-agent"

  /// How often the agent wakes to check that its socket is still its own: a socket file
  /// removed or replaced (by `vault lock` after a crash, or by hand) ends the agent.
  private static let checkInterval: Int64 = 30

  /// Runs the agent: reads the record from stdin, serves `socketPath` until the record
  /// expires, and returns the exit status. `ready` goes to stdout once the socket listens.
  static func serve(socketPath: String) -> Int32 {
    // No descriptor of the caller's beyond the three the launcher set: a pipe it held would
    // keep `$(vault unlock)` or a test harness waiting until the session ends.
    vault_close_from(3)
    // One byte more than a record, so a longer input fails to decode.
    let encoded = SecretBytes.reading(STDIN_FILENO, atMost: UnlockSessionRecord.encodedByteCount + 1)
    guard let record = UnlockSessionRecord.decode(encoded) else {
      answerLauncher("error: the session record is malformed\n")
      return 65
    }
    let listener: Int32
    do {
      listener = try Sockets.listenUnix(path: socketPath, backlog: 16)
    } catch {
      answerLauncher("error: \(error.message)\n")
      return 1
    }
    var ownSocket = stat()
    guard lstat(socketPath, &ownSocket) == 0 else {
      answerLauncher("error: the socket vanished\n")
      return 1
    }
    // A session of its own: closing the terminal that ran `vault unlock` does not end it.
    _ = setsid()
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    answerLauncher("ready\n")
    detachStandardStreams()
    let owner = geteuid()
    while true {
      let remaining = record.expires.secondsSinceEpoch - Timestamp.now().secondsSinceEpoch
      guard remaining > 0, isStill(ownSocket, at: socketPath) else { break }
      let wait = Int32(min(remaining, checkInterval) * 1_000)
      guard Sockets.waitReadable(listener, milliseconds: wait), let connection = Sockets.accept(listener) else {
        continue
      }
      defer { Sockets.close(connection) }
      guard Sockets.peerUID(connection) == owner else { continue }
      // A client that connects and stays silent holds the agent (one client at a time) for at most
      // a quarter of a second.
      Sockets.setTimeouts(connection, seconds: 0, milliseconds: 250)
      switch requestLine(connection) {
      case "get":
        _ = encoded.withUnsafeBytes { Sockets.writeAll(connection, $0) }
      case "lock":
        _ = Array("ok\n".utf8).withUnsafeBytes { Sockets.writeAll(connection, $0) }
        unlinkIfOwn(ownSocket, at: socketPath)
        return 0
      default:
        continue
      }
    }
    unlinkIfOwn(ownSocket, at: socketPath)
    return 0
  }

  /// The first line of a request, at most 16 bytes.
  private static func requestLine(_ connection: Int32) -> String {
    var buffer = [UInt8](repeating: 0, count: 16)
    var count = 0
    while count < buffer.count {
      let got = buffer.withUnsafeMutableBytes {
        Sockets.read(connection, into: UnsafeMutableRawBufferPointer(rebasing: $0[count...]))
      }
      if got <= 0 { break }
      count += got
      if buffer[0..<count].contains(0x0A) { break }
    }
    let line = buffer[0..<count].split(separator: 0x0A, omittingEmptySubsequences: false).first ?? []
    return String(decoding: line, as: UTF8.self)
  }

  private static func answerLauncher(_ line: String) {
    _ = Array(line.utf8).withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
  }

  private static func detachStandardStreams() {
    let null = open("/dev/null", O_RDWR | O_CLOEXEC)
    guard null >= 0 else { return }
    for stream in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { dup2(null, stream) }
    close(null)
  }

  private static func isStill(_ own: stat, at path: String) -> Bool {
    var now = stat()
    return lstat(path, &now) == 0 && now.st_ino == own.st_ino && now.st_dev == own.st_dev
  }

  private static func unlinkIfOwn(_ own: stat, at path: String) {
    if isStill(own, at: path) { unlink(path) }
  }
}
