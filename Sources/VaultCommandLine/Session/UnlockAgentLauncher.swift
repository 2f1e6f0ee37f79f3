import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Starts `vault __unlock-agent` from this very binary (/proc/self/exe): the record goes to the
/// agent over a pipe, never in its arguments or environment, and the launcher returns once the
/// agent says it listens.
enum UnlockAgentLauncher {
  static func launch(socketPath: String, record: SecretBytes) throws {
    var input: [Int32] = [0, 0]
    var output: [Int32] = [0, 0]
    guard ChildProcess.makePipe(&input), ChildProcess.makePipe(&output) else {
      throw VaultError.io("cannot create pipes for the unlock agent")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO)
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO)
    // The agent outlives this command: it must not hold the caller's stderr open (a script
    // reading `vault unlock 2>&1` would wait for the session to end).
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
    let arguments = ["vault", UnlockAgent.commandName, socketPath]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var environment: [UnsafeMutablePointer<CChar>?] = [nil]
    var agent: pid_t = 0
    let spawned = posix_spawn(&agent, "/proc/self/exe", &actions, nil, &argv, &environment)
    close(input[0])
    close(output[1])
    defer { close(output[0]) }
    guard spawned == 0 else {
      close(input[1])
      throw VaultError.io("cannot start the unlock agent: \(String(cString: strerror(spawned)))")
    }
    let written = record.withUnsafeBytes { bytes -> Bool in
      var offset = 0
      while offset < bytes.count {
        let count = write(input[1], bytes.baseAddress! + offset, bytes.count - offset)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { return false }
        offset += count
      }
      return true
    }
    close(input[1])
    let answer = readAnswer(output[0])
    guard written, answer == "ready" else {
      kill(agent, SIGTERM)
      _ = waitpid(agent, nil, 0)
      let reason = answer.hasPrefix("error: ") ? String(answer.dropFirst(7)) : "it did not start"
      throw VaultError.io("the unlock agent failed: \(reason)")
    }
  }

  /// The agent's one line (`ready` or `error: ...`), waiting at most 5 seconds.
  private static func readAnswer(_ descriptor: Int32) -> String {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    while line.count < 512 {
      guard poll(&poller, 1, 5_000) > 0 else { break }
      let count = read(descriptor, &byte, 1)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 || byte == 0x0A { break }
      line.append(byte)
    }
    return String(decoding: line, as: UTF8.self)
  }
}
