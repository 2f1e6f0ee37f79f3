import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `git` for `vault git-setup`: found on PATH as `vault run` finds a program, started with
/// posix_spawn and an argument vector (no shell, so no path or value is ever interpreted), its
/// standard output and error captured. Nothing secret is passed: the environment `vault` holds
/// has no secret-valued variable left in it (ProcessEnvironment).
enum GitProcess {
  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The first line git wrote to stderr, for an error message.
    var complaint: String {
      let line = stderr.split(separator: "\n").first.map(String.init) ?? "exit status \(status)"
      return DisplaySafety.sanitized(line)
    }
  }

  /// `git arguments...` to completion. Throws only when git cannot be started.
  static func run(_ arguments: [String], environment: [String: String]) throws -> Output {
    let executable = try ChildProcess.resolve("git", path: environment["PATH"])
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard ChildProcess.makePipe(&outPipe), ChildProcess.makePipe(&errPipe) else {
      throw VaultError.io("cannot create pipes for git")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], STDOUT_FILENO)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], STDERR_FILENO)
    let argv: [UnsafeMutablePointer<CChar>?] = (["git"] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var child: pid_t = 0
    ProcessHygiene.restoreForChild()
    let spawned = posix_spawn(&child, executable, &actions, nil, argv, envp)
    ProcessHygiene.rehardenAfterSpawn()
    close(outPipe[1])
    close(errPipe[1])
    defer {
      close(outPipe[0])
      close(errPipe[0])
    }
    guard spawned == 0 else { throw VaultError.io("cannot start git: \(String(cString: strerror(spawned)))") }
    // git's output here is a line or two; read stderr after stdout (a pipe holds 64 KiB, far
    // more than either).
    let stdout = readAll(outPipe[0])
    let stderr = readAll(errPipe[0])
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0 {
      guard errno == EINTR else { throw VaultError.io("cannot wait for git") }
    }
    let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return Output(
      status: code, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
  }

  private static func readAll(_ descriptor: Int32) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { return bytes }
      bytes.append(contentsOf: chunk[0..<count])
    }
  }
}
