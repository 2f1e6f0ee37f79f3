import VaultCore
import VaultCrypto
import VaultGateway

#if canImport(Glibc)
  import Glibc
#endif

/// Talks to an unlock agent, and starts one: where its socket lives, how a record is fetched,
/// how it is told to end.
struct UnlockAgentClient {
  let environment: [String: String]

  /// The directory of agent sockets: `$XDG_RUNTIME_DIR/llm-vault` when that is set, else
  /// `/tmp/llm-vault-<uid>`. Either is created 0700 and must be a real directory owned by this
  /// user with no access for anyone else; anything else is refused rather than used.
  func socketDirectory(creating: Bool) throws -> String {
    let base = socketDirectoryPath
    if creating, mkdir(base, 0o700) != 0, errno != EEXIST {
      throw VaultError.io("cannot create \(base): \(String(cString: strerror(errno)))")
    }
    if let refusal = Self.refusal(of: base) { throw refusal }
    return base
  }

  /// Why `socketDirectory(creating: true)` would fail, found without creating anything (`vault
  /// doctor` changes nothing): nil when the directory is private, or is missing from a directory
  /// this user can write to, where the first `vault unlock` makes it.
  func socketDirectoryProblem() -> String? {
    let base = socketDirectoryPath
    var status = stat()
    guard lstat(base, &status) != 0, errno == ENOENT else { return Self.refusal(of: base)?.message }
    let parent = String(base[..<(base.lastIndex(of: "/") ?? base.startIndex)])
    // AT_EACCESS: the effective user's permissions, those mkdir(2) would be judged by.
    guard stat(parent, &status) == 0, status.st_mode & S_IFMT == S_IFDIR,
      faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS) == 0
    else { return "\(base) cannot be created (\(parent) is not a directory you can write to)" }
    return nil
  }

  private var socketDirectoryPath: String {
    if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") { return runtime + "/llm-vault" }
    return "/tmp/llm-vault-\(geteuid())"
  }

  /// Why `base` cannot hold sockets: nil when it is a directory of this user's that no one
  /// else can open.
  private static func refusal(of base: String) -> VaultError? {
    var status = stat()
    guard lstat(base, &status) == 0 else {
      if errno == ENOENT { return .io("\(base) does not exist") }
      return .io("cannot read \(base): \(String(cString: strerror(errno)))")
    }
    guard status.st_mode & S_IFMT == S_IFDIR, status.st_uid == geteuid(), status.st_mode & 0o077 == 0 else {
      return .insecureFile(
        "\(base) is not a directory of mode 0700 owned by you; the unlock agent will not put its socket there",
        hint: "remove it, or set XDG_RUNTIME_DIR to a private directory")
    }
    return nil
  }

  func socketPath(vaultID: [UInt8], creating: Bool = false) throws -> String {
    try socketDirectory(creating: creating) + "/" + Hex.encode(vaultID) + ".sock"
  }

  /// The agent's record for `vaultID`, or nil when no agent answers.
  func record(vaultID: [UInt8]) -> UnlockSessionRecord? {
    guard let path = try? socketPath(vaultID: vaultID), exists(path),
      let answer = exchange(path, request: "get\n", limit: UnlockSessionRecord.encodedByteCount + 1)
    else { return nil }
    return UnlockSessionRecord.decode(answer)
  }

  /// Ends the agent for `vaultID`; true when one was running. A socket left by a killed agent
  /// is removed.
  @discardableResult
  func end(vaultID: [UInt8]) -> Bool {
    guard let path = try? socketPath(vaultID: vaultID), exists(path) else { return false }
    if let answer = exchange(path, request: "lock\n", limit: 8) {
      return answer.withUnsafeBytes { $0.elementsEqual("ok\n".utf8) }
    }
    var status = stat()
    if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    return false
  }

  /// Starts an agent holding `record` until it expires; returns once the agent listens.
  func start(_ record: UnlockSessionRecord) throws {
    let path = try socketPath(vaultID: record.vaultID, creating: true)
    end(vaultID: record.vaultID)
    try UnlockAgentLauncher.launch(socketPath: path, record: record.encoded())
  }

  private func exists(_ path: String) -> Bool {
    var status = stat()
    return lstat(path, &status) == 0
  }

  /// One request and its whole answer (up to `limit` bytes), from an agent running as this
  /// user; nil when none answers.
  private func exchange(_ path: String, request: String, limit: Int) -> SecretBytes? {
    guard let connection = try? Sockets.connectUnix(path: path) else { return nil }
    defer { Sockets.close(connection) }
    // The agent must be this user's: a record from anyone else is not even read.
    guard Sockets.peerUID(connection) == geteuid() else { return nil }
    Sockets.setTimeouts(connection, seconds: 2)
    guard Array(request.utf8).withUnsafeBytes({ Sockets.writeAll(connection, $0) }) else { return nil }
    let answer = SecretBytes.reading(connection, atMost: limit)
    return answer.count > 0 ? answer : nil
  }
}
