import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// What one run of the `vault` binary did.
struct RunResult {
  var status: Int32
  var stdout: [UInt8]
  var stderr: [UInt8]
  var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  var stderrText: String { String(decoding: stderr, as: UTF8.self) }
  /// stdout and stderr together, for leak checks.
  var allOutput: [UInt8] { stdout + stderr }
}

/// A temporary HOME holding one vault, and a way to run the built `vault` binary in it as a
/// user would: in a new session with no controlling terminal, with a minimal environment.
final class VaultSandbox {
  /// The demo passphrase the sandbox's passphrase file holds.
  static let passphrase = "correct horse battery staple"

  let root: String
  var vaultPath: String { root + "/data/vault.json" }
  var passphraseFile: String { root + "/passphrase" }
  /// Variables every run gets; tests add or remove entries.
  var environment: [String: String]
  /// log2(N) `initVault` creates the vault with.
  let logN: Int

  /// A sandbox whose runs see the suite's low scrypt floor (`TestKDF`); with `productionFloor`,
  /// runs see the floor a release build keeps (no `VAULT_TEST_SCRYPT_MIN_LOG_N`) and `initVault`
  /// uses N=2^14, for tests of the floor and the KDF parameters themselves.
  init(productionFloor: Bool = false) throws {
    TestKDF.inProcess
    var template = Array((NSTemporaryDirectory() + "vault-test-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    root = String(cString: made)
    environment = [
      "PATH": "/usr/bin:/bin",
      "HOME": root,
      "VAULT_FILE": root + "/data/vault.json",
      "VAULT_PASSPHRASE_FILE": root + "/passphrase",
      "NO_COLOR": "1",
      "LANG": "C.UTF-8",
    ]
    if productionFloor {
      logN = TestKDF.productionLogN
    } else {
      logN = TestKDF.logN
      environment.merge(TestKDF.environment) { $1 }
    }
    try writeFile(passphraseFile, Array((Self.passphrase + "\n").utf8), mode: 0o600)
  }

  deinit {
    _ = try? FileManager.default.removeItem(atPath: root)
  }

  /// The built `vault` executable, next to the test bundle in the build products directory.
  static var binary: String {
    let products = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
    return (products ?? URL(fileURLWithPath: ".build/debug")).appendingPathComponent("vault").path
  }

  /// Runs `vault arguments...` to completion with `stdin` as standard input.
  @discardableResult
  func run(_ arguments: [String], stdin: [UInt8]? = nil, environment extra: [String: String?] = [:]) throws -> RunResult
  {
    let process = try start(arguments, stdin: stdin, environment: extra)
    return try process.wait()
  }

  /// Runs another program (not vault) the same way, for test drivers.
  static func runTool(_ arguments: [String]) throws -> RunResult {
    let scratch = NSTemporaryDirectory()
    return try RunningVault(
      executable: arguments[0], arguments: Array(arguments.dropFirst()),
      environment: ["PATH": "/usr/local/bin:/usr/bin:/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "")],
      stdin: nil, scratch: scratch
    ).wait()
  }

  /// `vault init` with the cheapest cost the sandbox's binary allows, so tests stay fast.
  func initVault() throws {
    let result = try run(["init"] + TestKDF.costOptions(logN))
    XCTAssertEqual(result.status, 0, result.stderrText)
  }

  /// `vault add NAME` with `value` on stdin.
  @discardableResult
  func add(_ name: String, value: String, _ options: [String] = []) throws -> RunResult {
    try run(["add", name] + options, stdin: Array((value + "\n").utf8))
  }

  /// Starts `vault` without waiting, for crash and concurrency tests.
  func start(_ arguments: [String], stdin: [UInt8]? = nil, environment extra: [String: String?] = [:]) throws
    -> RunningVault
  {
    var variables = environment
    for (name, value) in extra { variables[name] = value }
    return try RunningVault(
      executable: Self.binary, arguments: arguments, environment: variables, stdin: stdin, scratch: root)
  }

  func readVault() throws -> [UInt8] {
    try readFile(vaultPath)
  }
}

/// A `vault` process started with posix_spawn in its own session (so `/dev/tty` is not
/// available, as in CI or cron), its output going to files in the sandbox.
final class RunningVault {
  let pid: pid_t
  private let stdoutPath: String
  private let stderrPath: String

  init(executable: String, arguments: [String], environment: [String: String], stdin: [UInt8]?, scratch: String) throws
  {
    let tag = UUID().uuidString
    stdoutPath = scratch + "/.out-" + tag
    stderrPath = scratch + "/.err-" + tag
    let stdinPath = scratch + "/.in-" + tag
    try writeFile(stdinPath, stdin ?? [], mode: 0o600)
    defer { unlink(stdinPath) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdin == nil ? "/dev/null" : stdinPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // POSIX_SPAWN_SETSID (glibc 2.26+, value 0x80) is a macro Swift does not import.
    posix_spawnattr_setflags(&attributes, 0x80)

    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var child: pid_t = 0
    let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
    guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
    pid = child
  }

  /// Waits for the process; the status is the exit code, or 128 + N when signal N killed it.
  func wait() throws -> RunResult {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
      guard errno == EINTR else { throw POSIXError(.ECHILD) }
    }
    let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    defer {
      unlink(stdoutPath)
      unlink(stderrPath)
    }
    return RunResult(status: code, stdout: try readFile(stdoutPath), stderr: try readFile(stderrPath))
  }

  func kill(_ signal: Int32 = SIGKILL) {
    _ = Glibc.kill(pid, signal)
  }
}

func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
  let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
  guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  defer { close(descriptor) }
  var offset = 0
  while offset < bytes.count {
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
    guard written > 0 else { throw POSIXError(.EIO) }
    offset += written
  }
}

/// The bytes of `path`, read to the end: a file of /proc too, of which Foundation's readers
/// (`FileManager.contents`, `String(contentsOfFile:)`) return only the first read, one page of an
/// smaps.
func readFile(_ path: String) throws -> [UInt8] {
  let descriptor = open(path, O_RDONLY | O_CLOEXEC)
  guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  defer { close(descriptor) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    if count < 0, errno == EINTR { continue }
    guard count >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    if count == 0 { return bytes }
    bytes += chunk[0..<count]
  }
}

/// Whether `needle` occurs anywhere in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
  guard !needle.isEmpty, haystack.count >= needle.count else { return false }
  for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
    if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
  }
  return false
}
