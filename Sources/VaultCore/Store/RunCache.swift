import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// What `vault run` and `vault env` with an agent key and no selectors injected last time, per
/// token, in this user's cache directory (`$XDG_CACHE_HOME/llm-vault/runs/<token id>`, else
/// `~/.cache/llm-vault/runs/<token id>`): which variables carry which keys' values, sealed under a key only the
/// token's secret derives, and bound to the vault file's identity (`FileIdentity`) and to the
/// `vault` binary that wrote it. While neither has changed, the next launch injects the same
/// variables without parsing a key line or opening a box: at 1,000 keys, most of a launch.
///
/// Nothing here is trusted beyond the token: the file is sealed with AES-256-GCM under
/// HKDF(secret), so only the token's holder can write one that opens, and the plan is checked
/// again on every use. Any change to the vault file (every save makes a new inode, any write
/// changes the change time) makes the cache stale; the run then reads the file as before and
/// writes the cache anew, or, refused (revoked, expired), deletes it (docs/SECURITY.md,
/// "The run cache").
public struct RunCache: Sendable {
  /// The directory holding one file per token id.
  public let directory: String
  /// How long ago the vault file must have last changed before a run caches what it read.
  let settleSeconds: Int64
  /// The debug builds' trace of hits and misses, for the end-to-end tests; nil otherwise.
  let trace: (@Sendable (String) -> Void)?

  public init(directory: String, settleSeconds: Int64 = 2, trace: (@Sendable (String) -> Void)? = nil) {
    self.directory = directory
    self.settleSeconds = settleSeconds
    self.trace = trace
  }

  /// This user's cache, from the environment: nil when `VAULT_RUN_CACHE` turns it off (`0`,
  /// `off`, `false`, `no`, in any case), or without an absolute `XDG_CACHE_HOME` or `HOME`.
  public static func forUser(environment: [String: String]) -> RunCache? {
    if isTurnedOff(environment: environment) { return nil }
    let directory: String
    if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
      directory = cache + "/llm-vault/runs"
    } else if let home = environment["HOME"], home.hasPrefix("/") {
      directory = home + "/.cache/llm-vault/runs"
    } else {
      return nil
    }
    var settle: Int64 = 2
    var trace: (@Sendable (String) -> Void)? = nil
    #if DEBUG
      // The suite's end-to-end tests: a vault made a moment ago is cached at once, and each
      // decision is said on stderr. Not compiled into a release build.
      if let text = environment["VAULT_TEST_RUN_CACHE_SETTLE_SECONDS"], let seconds = Int64(text), seconds >= 0 {
        settle = seconds
      }
      if environment["VAULT_TEST_RUN_CACHE_TRACE"] == "1" {
        trace = { message in
          let line = Array("vault: debug: run cache: \(message)\n".utf8)
          _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
      }
    #endif
    return RunCache(directory: directory, settleSeconds: settle, trace: trace)
  }

  /// Whether `VAULT_RUN_CACHE` turns the cache off: `0`, `off`, `false` or `no`, in any case.
  static func isTurnedOff(environment: [String: String]) -> Bool {
    guard let setting = environment["VAULT_RUN_CACHE"] else { return false }
    return ["0", "off", "false", "no"].contains(setting.lowercased())
  }

  /// What a launch injects from the cache.
  public struct Hit {
    public var injection: Injection
    public var terms: TokenTerms
  }

  /// The first line's first two fields: the file's kind and version.
  static let magic = "llm-vault-run-cache 2"
  /// Past this the file is not read (a cache of 10,000 keys of 64 KiB each would be 640 MiB; the
  /// vault itself stops at 64 MiB).
  static let maximumByteCount = VaultFile.maximumByteCount

  func path(tokenID: String) -> String { directory + "/" + tokenID }

  /// The cached plan and values for `token` and the vault file at `vaultPath`, or nil (then the
  /// caller reads the vault): no file, another vault file or binary, a file that does not open
  /// under this token, a token past its expiry, or a vault generation older than one seen.
  public func load(token: AgentToken, vaultPath: String, now: Timestamp, records: GenerationRecords?) -> Hit? {
    // The vault is opened, not only stat'ed (see `FileIdentity.of(descriptor:)`), and its header
    // line read: every save, a revocation included, writes a new generation into it, so a save
    // is seen even where the file's times are not to be trusted (a clock set back, a write
    // through a mapping, coarse timestamps).
    let vaultDescriptor = SystemCalls.open(vaultPath, O_RDONLY | O_NONBLOCK)
    guard vaultDescriptor >= 0 else { return miss("no vault file") }
    defer { SystemCalls.close(vaultDescriptor) }
    guard let vault = FileIdentity.of(descriptor: vaultDescriptor), let binary = FileIdentity.of("/proc/self/exe"),
      let headerDigest = Self.headerLineDigest(of: vaultDescriptor)
    else { return miss("no file identity") }
    let path = path(tokenID: token.id)
    // O_NONBLOCK: a FIFO planted here must not hang the launch; it is refused below.
    let descriptor = SystemCalls.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    guard descriptor >= 0 else { return miss(errno == ENOENT ? "none" : "unreadable") }
    defer { SystemCalls.close(descriptor) }
    guard let status = SystemCalls.fileStatus(descriptor), SystemCalls.isRegular(status),
      SystemCalls.isOwn(status, forbidding: 0o077),
      case .success(let bytes) = SystemCalls.readAll(
        descriptor, limit: Self.maximumByteCount, expectedSize: Int(status.st_size))
    else { return miss("not a private regular file of this user") }
    guard let newline = bytes.prefix(512).firstIndex(of: 0x0A) else { return miss("damaged") }
    let header = bytes[..<newline]
    let fields = header.split(separator: 0x20, omittingEmptySubsequences: false)
    // The kind and version are `magic`'s two fields, read from the one constant the writer uses.
    guard fields.count == 7, header.starts(with: (Self.magic + " ").utf8),
      let vaultID = Hex.decode(String(decoding: fields[2], as: UTF8.self)), vaultID.count == 16,
      String(decoding: fields[3], as: UTF8.self) == token.id
    else { return miss("damaged") }
    guard String(decoding: fields[4], as: UTF8.self) == vault.text,
      String(decoding: fields[5], as: UTF8.self) == Hex.encode(headerDigest)
    else { return miss("the vault file changed") }
    guard String(decoding: fields[6], as: UTF8.self) == binary.text else { return miss("another vault binary") }
    do {
      let key = try Self.key(secret: token.secret, vaultID: vaultID, tokenID: token.id)
      // Opened where it lies in the file's buffer: a second copy of a 1,000-key cache is 34 pages.
      let plaintext = try bytes.withUnsafeBytes { file in
        let box = UnsafeRawBufferPointer(rebasing: file[(newline + 1)...])
        guard box.count >= AESGCM.nonceByteCount + AESGCM.tagByteCount else { throw RunCacheReader.Malformed() }
        let tagStart = box.count - AESGCM.tagByteCount
        return try AESGCM.open(
          UnsafeRawBufferPointer(rebasing: box[AESGCM.nonceByteCount..<tagStart]), key: key,
          nonce: UnsafeRawBufferPointer(rebasing: box[..<AESGCM.nonceByteCount]),
          tag: UnsafeRawBufferPointer(rebasing: box[tagStart...]), associatedData: Self.binding(header))
      }
      let record = try RunCacheRecord.decode(plaintext)
      guard now < record.terms.effectiveExpiry else { return miss("the token has expired") }
      if let seen = records?.seen(vaultID: vaultID), seen.generation > record.generation {
        return miss("a newer generation was seen")
      }
      trace?("hit")
      return Hit(injection: record.injection, terms: record.terms)
    } catch {
      return miss("does not open under this token")
    }
  }

  /// Caches what a launch read from `session`, when the file it read has settled (see
  /// `FileIdentity.isSettled`). A cache that cannot be written is no failure of the launch:
  /// the next one reads the vault again.
  public func store(
    token: AgentToken, session: AgentSession, injection: Injection, terms: TokenTerms, records: GenerationRecords?
  ) {
    var clock = timespec()
    guard let vault = session.fileIdentity, let headerDigest = session.headerLineDigest,
      clock_gettime(CLOCK_REALTIME, &clock) == 0, vault.isSettled(seconds: settleSeconds, now: clock)
    else {
      trace?("not stored: the vault file changed too recently")
      return
    }
    // An older copy than one seen: every launch reads it (and warns), so caching it is waste.
    if let seen = records?.seen(vaultID: session.header.id), seen.generation > session.header.generation {
      trace?("not stored: an older generation than one seen")
      return
    }
    guard let binary = FileIdentity.of("/proc/self/exe") else { return }
    let path = path(tokenID: token.id)
    let header = Array(
      "\(Self.magic) \(session.header.idHex) \(token.id) \(vault.text) \(Hex.encode(headerDigest)) \(binary.text)"
        .utf8)
    do {
      try SystemCalls.makeDirectories(directory)
      // Written only into a directory of this user's that no one else can write to.
      guard let status = SystemCalls.pathStatus(directory, followLinks: false), SystemCalls.isDirectory(status),
        SystemCalls.isOwn(status, forbidding: 0o022)
      else {
        trace?("not stored: the directory is not private")
        return
      }
      let record = RunCacheRecord(generation: session.header.generation, terms: terms, injection: injection)
      let key = try Self.key(secret: token.secret, vaultID: session.header.id, tokenID: token.id)
      let sealed = try record.encoded().withUnsafeBytes {
        try AESGCM.seal($0, key: key, associatedData: Self.binding(header[...]))
      }
      // What a writer killed before its rename left (the whole record, under its temporary name).
      VaultFile.removeStaleTemporaries(for: path)
      try VaultFile.replace(path, with: [header[...], [0x0A], sealed[...]], durability: .none)
      trace?("stored")
    } catch {
      trace?("not stored: \((error as? VaultError)?.message ?? "\(error)")")
    }
  }

  /// Deletes the cache of a token the vault refused: a revoked or expired token's file holds
  /// what it could once read, and is of no use to anyone holding the token now.
  public func remove(tokenID: String) {
    let path = path(tokenID: tokenID)
    VaultFile.removeStaleTemporaries(for: path)
    if unlink(path) == 0 { trace?("removed") }
  }

  /// How far into the vault file its header line is looked for (a longer one is not cached).
  static let headerSearchByteCount = 1 << 16

  /// SHA-256 of the vault file's second line (the header, which holds the generation), read
  /// from the start of the open file; nil when the file has no second line in its first 64 KiB.
  static func headerLineDigest(of descriptor: Int32) -> [UInt8]? {
    for count in [4096, headerSearchByteCount] {
      let head = SystemCalls.read(descriptor, count: count, at: 0)
      if let digest = headerLineDigest(head[...]) { return digest }
      if head.count < count { return nil }
    }
    return nil
  }

  /// SHA-256 of the second line of `bytes` (without its LF); nil when `bytes` holds no whole
  /// second line.
  static func headerLineDigest(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
    guard let first = bytes.firstIndex(of: 0x0A),
      let second = bytes[(first + 1)...].firstIndex(of: 0x0A)
    else { return nil }
    return SHA256.hash(bytes[(first + 1)..<second])
  }

  /// The key the cache is sealed under: HKDF-SHA256 of the token's secret, salted with the vault
  /// id, its own `info` (never the slot's).
  static func key(secret: SecretBytes, vaultID: [UInt8], tokenID: String) throws -> SecretBytes {
    try HKDF.deriveKey(
      inputKeyMaterial: secret, salt: vaultID, info: Array("llm-vault/v1/run-cache|\(tokenID)".utf8), length: 32)
  }

  /// The associated data: the file's first line (vault id, token id, the identities), so a
  /// sealed record cannot be moved under another line.
  static func binding(_ header: ArraySlice<UInt8>) -> [UInt8] {
    Array("llm-vault/v1/run-cache|".utf8) + header
  }

  private func miss(_ reason: String) -> Hit? {
    trace?("miss (\(reason))")
    return nil
  }
}
