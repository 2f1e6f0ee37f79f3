import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// Starting the program `vault run` was asked to run, as env(1) does: found on the child's
/// PATH, 127 when not found, 126 when found but not executable; no shell in between.
enum ChildProcess {
  /// The path to execute for `command`, searched on `path` when it has no slash.
  static func resolve(_ command: String, path: String?) throws -> String {
    if command.contains("/") {
      guard access(command, F_OK) == 0 else { throw VaultError.commandNotFound(command) }
      guard access(command, X_OK) == 0, !isDirectory(command) else { throw VaultError.commandNotExecutable(command) }
      return command
    }
    var foundButNotExecutable = false
    for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + command
      guard access(candidate, F_OK) == 0, !isDirectory(candidate) else { continue }
      if access(candidate, X_OK) == 0 { return candidate }
      foundButNotExecutable = true
    }
    throw foundButNotExecutable ? VaultError.commandNotExecutable(command) : VaultError.commandNotFound(command)
  }

  private static func isDirectory(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
  }

  /// Replaces this process with the child: its exit code, signals, stdin and terminal are then
  /// the child's own. Returns only on failure.
  static func exec(_ executable: String, arguments: [String], environment: EnvironmentBlock) -> VaultError {
    ProcessHygiene.restoreForChild()
    // errno is read inside, before the argument copies are wiped and freed.
    let code =
      withCStrings(arguments) { argv in
        environment.withPointers { envp in
          execve(executable, argv, envp)
          return errno
        }
      } ?? ENOMEM
    return code == ENOENT ? .commandNotFound(arguments[0]) : .commandNotExecutable(arguments[0])
  }

  /// Runs the child with its stdout and stderr through `masker`s, forwarding the usual signals;
  /// returns its exit code, or 128 + N when signal N ended it. Reaps it: no zombie is left.
  /// `environment` (it holds values) is wiped as soon as the child has it; the read buffer is
  /// wiped after every read, since the child may print a value.
  static func supervise(
    _ executable: String, arguments: [String], environment: EnvironmentBlock,
    secrets: [(value: SecretBytes, mask: [UInt8])]
  ) throws -> Int32 {
    defer { environment.wipe() }
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard makePipe(&outPipe), makePipe(&errPipe) else {
      throw VaultError.io("cannot create pipes for the child")
    }
    SignalRelay.install()
    ProcessHygiene.restoreForChild()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // The child gets the default signal dispositions and an empty mask, not the relay's.
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in SignalRelay.forwarded { sigaddset(&defaults, signal) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var child: pid_t = 0
    let status =
      withCStrings(arguments) { argv in
        environment.withPointers { envp in
          posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        }
      } ?? ENOMEM
    ProcessHygiene.rehardenAfterSpawn()
    environment.wipe()
    close(outPipe[1])
    close(errPipe[1])
    guard status == 0 else {
      close(outPipe[0])
      close(errPipe[0])
      throw status == ENOENT ? VaultError.commandNotFound(arguments[0]) : VaultError.commandNotExecutable(arguments[0])
    }
    SignalRelay.child = child
    var streams = [
      (descriptor: outPipe[0], target: STDOUT_FILENO, masker: OutputMasker(secrets: secrets)),
      (descriptor: errPipe[0], target: STDERR_FILENO, masker: OutputMasker(secrets: secrets)),
    ]
    var buffer = [UInt8](repeating: 0, count: 65_536)
    defer { buffer.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
    while streams.contains(where: { $0.descriptor >= 0 }) {
      var polls = streams.filter { $0.descriptor >= 0 }.map {
        pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0)
      }
      polls.append(pollfd(fd: SignalRelay.readEnd, events: Int16(POLLIN), revents: 0))
      if poll(&polls, nfds_t(polls.count), -1) < 0 {
        if errno == EINTR { continue }
        throw VaultError.io("cannot wait for the child's output")
      }
      SignalRelay.forwardPending()
      for index in streams.indices where streams[index].descriptor >= 0 {
        guard let ready = polls.first(where: { $0.fd == streams[index].descriptor }), ready.revents != 0 else {
          continue
        }
        let count = buffer.withUnsafeMutableBytes { read(streams[index].descriptor, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 {
          writeAll(streams[index].target, streams[index].masker.finish())
          close(streams[index].descriptor)
          streams[index].descriptor = -1
        } else {
          let masked = buffer.withUnsafeMutableBytes { raw -> [UInt8] in
            defer { _ = memset(raw.baseAddress!, 0, count) }
            return streams[index].masker.feed(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
          }
          writeAll(streams[index].target, masked)
        }
      }
    }
    // The child may outlive its output (it closed stdout and stderr): keep relaying signals until
    // it exits, waking every 20 ms to reap it.
    var waitStatus: Int32 = 0
    while true {
      let reaped = waitpid(child, &waitStatus, WNOHANG)
      if reaped == child { break }
      if reaped < 0 && errno != EINTR { throw VaultError.io("cannot wait for the child") }
      var relay = [pollfd(fd: SignalRelay.readEnd, events: Int16(POLLIN), revents: 0)]
      _ = poll(&relay, 1, 20)
      SignalRelay.forwardPending()
    }
    SignalRelay.child = 0
    let signal = waitStatus & 0x7F
    return signal == 0 ? (waitStatus >> 8) & 0xFF : 128 + signal
  }

  /// A pipe whose ends close on exec (pipe2 is not visible to Swift without _GNU_SOURCE).
  static func makePipe(_ ends: inout [Int32], nonBlocking: Bool = false) -> Bool {
    guard pipe(&ends) == 0 else { return false }
    for end in ends {
      _ = fcntl(end, F_SETFD, FD_CLOEXEC)
      if nonBlocking { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
    }
    return true
  }

  private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
      if written < 0 {
        if errno == EINTR { continue }
        return
      }
      offset += written
    }
  }

  /// Calls `body` with the NULL-terminated array of C strings made from `strings` (the child's
  /// arguments, which are no secret: any process can read them in /proc); nil, without calling
  /// it, when a copy cannot be allocated (a nil among them would cut the arguments short).
  private static func withCStrings<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result)
    -> Result?
  {
    let copies = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    guard !copies.contains(nil) else { return nil }
    return body(copies + [nil])
  }
}

/// Forwards signals sent to `vault` to the supervised child. The handler only writes the
/// signal number to a pipe (async-signal-safe); the poll loop reads it and calls kill.
enum SignalRelay {
  static let forwarded = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]
  nonisolated(unsafe) static var child: pid_t = 0
  nonisolated(unsafe) static var readEnd: Int32 = -1
  nonisolated(unsafe) static var writeEnd: Int32 = -1

  static func install() {
    var ends: [Int32] = [0, 0]
    guard ChildProcess.makePipe(&ends, nonBlocking: true) else { return }
    readEnd = ends[0]
    writeEnd = ends[1]
    for signal in forwarded {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in
        var byte = UInt8(truncatingIfNeeded: number)
        _ = write(SignalRelay.writeEnd, &byte, 1)
      }
      action.sa_flags = SA_RESTART
      sigaction(signal, &action, nil)
    }
  }

  /// Sends the child every signal received since the last call.
  static func forwardPending() {
    var byte: UInt8 = 0
    while read(readEnd, &byte, 1) == 1 {
      if child > 0 { kill(child, Int32(byte)) }
    }
  }
}
