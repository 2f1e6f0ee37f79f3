import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Reading and durably replacing the vault file's bytes. Knows nothing of the format.
public enum VaultFile {
  /// The largest vault file read: 64 MiB. 10,000 keys take about 5 MB, and an agent scoped to
  /// all of them about 1.3 MB more; a file past this is refused before it is read, so a hostile
  /// file cannot make `list` spend seconds and gigabytes (docs/FORMAT.md, "Limits").
  public static let maximumByteCount = 64 << 20

  /// The file's bytes, after checking that it is a regular file owned by this user and not
  /// writable by group or others.
  /// `followLinks` false refuses a symbolic link at `path` (O_NOFOLLOW), for the files `vault`
  /// names itself beside the vault; `limit` caps what is read.
  public static func read(_ path: String, limit: Int = maximumByteCount, followLinks: Bool = true) throws -> [UInt8] {
    try read(path, limit: limit, followLinks: followLinks, identifying: false).bytes
  }

  /// `read`, and the identity of the bytes read: nil when the file changed while it was read
  /// (its status after the read differs from its status before), so an identity never stands
  /// for bytes other than these.
  static func readIdentified(_ path: String) throws -> (bytes: [UInt8], identity: FileIdentity?) {
    try read(path, limit: maximumByteCount, followLinks: true, identifying: true)
  }

  private static func read(_ path: String, limit: Int, followLinks: Bool, identifying: Bool) throws -> (
    bytes: [UInt8], identity: FileIdentity?
  ) {
    let (descriptor, status) = try openChecked(path, limit: limit, followLinks: followLinks)
    defer { SystemCalls.close(descriptor) }
    switch SystemCalls.readAll(descriptor, limit: limit, expectedSize: Int(status.st_size)) {
    case .success(let bytes):
      guard identifying else { return (bytes, nil) }
      // Before the read: the status the checks were made on.
      let before = FileIdentity(status)
      let after = SystemCalls.fileStatus(descriptor).map(FileIdentity.init)
      return (bytes, before == after ? after : nil)
    case .failure(.tooLarge): throw tooLarge(limit)
    case .failure(.system(let code)): throw SystemCalls.ioError("read", path, code)
    }
  }

  /// The file read again, or nil when its bytes are still exactly `known`: a writer reads the
  /// vault once more under the lock, and usually nobody wrote meanwhile. The bytes are compared
  /// as they come, 64 KiB at a time, so that case costs no second buffer the size of the file;
  /// any difference (or another size) reads the whole file, with every check of `read`.
  static func read(_ path: String, unlessStill known: [UInt8]) throws -> [UInt8]? {
    let same: Bool
    do {
      let (descriptor, status) = try openChecked(path, limit: maximumByteCount, followLinks: true)
      defer { SystemCalls.close(descriptor) }
      same = Int(status.st_size) == known.count && SystemCalls.readMatches(descriptor, known)
    }
    return same ? nil : try read(path)
  }

  /// A vault file opened and checked as `read` checks it, of which only the head is read yet:
  /// the header, all that scrypt needs, is in its first line and a half. The rest is read by
  /// `readAll` on whichever thread has the time (`VaultCodec.checkedLayout(_ file:…)`).
  ///
  /// `@unchecked Sendable`: the head is read before any other thread sees this; `readAll` is
  /// called by one thread at a time, and the descriptor is closed when this is released.
  final class Opened: @unchecked Sendable {
    /// How much the head holds at most: a personal vault's header line is some 400 bytes.
    static let headByteCount = 16 << 10
    let head: [UInt8]
    let path: String
    private let descriptor: Int32
    private let size: Int

    init(_ path: String) throws {
      let (descriptor, status) = try openChecked(path, limit: maximumByteCount, followLinks: true)
      self.path = path
      self.descriptor = descriptor
      size = Int(status.st_size)
      // pread: the file position stays at 0 for `readAll`. A failed read leaves the head
      // empty, and `readAll` reports the error.
      head = SystemCalls.read(descriptor, count: min(size, Self.headByteCount), at: 0)
    }

    /// Every byte of the file, from the start, through the descriptor opened (the same file a
    /// save may have renamed something over since).
    func readAll() throws -> [UInt8] {
      guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw SystemCalls.ioError("read", path) }
      switch SystemCalls.readAll(descriptor, limit: maximumByteCount, expectedSize: size) {
      case .success(let bytes): return bytes
      case .failure(.tooLarge): throw tooLarge(maximumByteCount)
      case .failure(.system(let code)): throw SystemCalls.ioError("read", path, code)
      }
    }

    /// The same path opened again, its head read anew.
    func reopened() throws -> Opened {
      try Opened(path)
    }

    deinit {
      SystemCalls.close(descriptor)
    }
  }

  /// `path` opened for reading, after checking that it is a regular file owned by this user,
  /// not writable by group or others, and at most `limit` bytes; its descriptor (the caller
  /// closes it) and the status checked.
  private static func openChecked(_ path: String, limit: Int, followLinks: Bool) throws -> (Int32, stat) {
    // O_NONBLOCK: opening a FIFO planted at the path must not hang; it is refused below.
    let descriptor = SystemCalls.open(path, O_RDONLY | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
    guard descriptor >= 0 else {
      let code = errno
      if code == ENOENT { throw VaultError.vaultNotFound(path: path) }
      throw SystemCalls.ioError("open", path, code)
    }
    do {
      guard let status = SystemCalls.fileStatus(descriptor) else { throw SystemCalls.ioError("stat", path) }
      try checkSafe(status, path: path)
      // The size first, so an oversized file costs one fstat, not a read into memory.
      guard status.st_size <= limit else { throw tooLarge(limit) }
      return (descriptor, status)
    } catch {
      SystemCalls.close(descriptor)
      throw error
    }
  }

  private static func tooLarge(_ limit: Int) -> VaultError {
    limit == maximumByteCount
      ? .integrity("the file is larger than \(limit >> 20) MiB, the most a vault file may be")
      : .integrity("the file is larger than \(limit >> 20) MiB")
  }

  static func checkSafe(_ status: stat, path: String) throws {
    if SystemCalls.isDirectory(status) {
      throw VaultError.insecureFile(
        "\(path) is a directory, not a vault file", hint: "pass the file's path with --file")
    }
    guard SystemCalls.isRegular(status) else {
      throw VaultError.insecureFile("\(path) is not a regular file", hint: "point --file at a vault file")
    }
    guard status.st_uid == geteuid() else {
      throw VaultError.insecureFile(
        "vault file \(path) belongs to another user", hint: "use your own vault, or chown it to yourself")
    }
    guard status.st_mode & 0o022 == 0 else {
      throw VaultError.insecureFile(
        "vault file \(path) is writable by group or others", hint: "run: chmod 600 \(path)")
    }
  }

  /// What a replacement survives beyond readers, who always see the old file or the new one.
  public enum Durability: Sendable {
    /// A power cut at any instant leaves the old file or the new one, and once `replace`
    /// returns, the new one: the temporary is fsynced before the rename, the directory after.
    case full
    /// A power cut leaves the old file or the new one, never an empty or partial new one (the
    /// temporary is fsynced before the rename), but may lose the change: the usage snapshot.
    /// Without it, a file system that does not write a renamed file's data before the rename
    /// (ext4 when the rename replaces nothing, or mounted noauto_da_alloc; XFS) can come back
    /// with the new name on an empty file.
    case contents
    /// No fsync: atomic for readers only. For files whose loss or emptiness costs nothing but a
    /// redo (the run cache, the usage log's bare header).
    case none
  }

  /// Replaces the file at `path` with `bytes`, so that readers and a crash at any instant see
  /// either the old file or the new one: write a 0600 temp file in the same directory, fsync
  /// it, rename it over the target, fsync the directory so the rename itself is durable; less,
  /// as `durability` says.
  public static func replace(_ path: String, with bytes: [UInt8], durability: Durability = .full) throws {
    try replace(path, with: [bytes[...]], durability: durability)
  }

  /// `replace` with the new contents given in pieces, written one after the other. A temporary
  /// `prepared` beside scrypt is used when it holds the beginning of exactly these bytes: only
  /// the rest is written to it.
  static func replace(
    _ path: String, with pieces: [ArraySlice<UInt8>], durability: Durability = .full,
    continuing prepared: PreparedReplacement? = nil
  ) throws {
    let directory = SystemCalls.directory(of: path)
    let (temporary, descriptor, rest) =
      try prepared?.take(for: path, writing: pieces)
      ?? {
        let (temporary, descriptor) = try createTemporary(for: path)
        return (temporary, descriptor, pieces)
      }()
    var renamed = false
    defer { if !renamed { unlink(temporary) } }
    do {
      defer { SystemCalls.close(descriptor) }
      for piece in rest {
        if let code = SystemCalls.writeAll(descriptor, piece) { throw SystemCalls.ioError("write", path, code) }
      }
      guard durability == .none || SystemCalls.fsync(descriptor) == 0 else {
        throw SystemCalls.ioError("flush", path)
      }
    }
    // The old file is about the new one's size (a vault after a save): a small file costs no
    // open and fstat of it.
    let replaced = BytePieces.count(pieces) >= LargeFileHold.minimumByteCount ? LargeFileHold(path) : nil
    guard SystemCalls.rename(temporary, path) == 0 else {
      let error = SystemCalls.ioError("replace", path)
      replaced?.release()
      throw error
    }
    renamed = true
    replaced?.release()
    if durability == .full { try syncDirectory(directory) }
  }

  /// The file a rename is about to replace, held open when it is large, so that freeing its
  /// pages and blocks (3 to 4 ms for the 4 MB of a vault of 10,000 keys on ext4, which a rename
  /// of the last link does inside the call) happens when the hold is released, on a thread of
  /// its own, beside the rest of the save.
  private struct LargeFileHold {
    static let minimumByteCount = 1 << 20
    let descriptor: Int32

    init?(_ path: String) {
      let descriptor = SystemCalls.open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
      guard descriptor >= 0 else { return nil }
      guard let status = SystemCalls.fileStatus(descriptor), SystemCalls.isRegular(status),
        status.st_size >= Self.minimumByteCount
      else {
        SystemCalls.close(descriptor)
        return nil
      }
      self.descriptor = descriptor
    }

    /// Closes the descriptor on a detached thread. A process that exits first waits for the
    /// close to finish, as it would have waited for the rename.
    func release() {
      let descriptor = descriptor
      SystemCalls.runDetached { SystemCalls.close(descriptor) }
    }
  }

  /// A new temporary file beside `path` (`.<name>.tmp-<pid>-<random>`), open for writing, mode
  /// 0600 before any byte is written; the caller closes it and renames or removes it.
  static func createTemporary(for path: String) throws -> (path: String, descriptor: Int32) {
    let temporary = try temporaryPath(for: path)
    return (temporary, try createTemporary(at: temporary))
  }

  /// `createTemporary(for:)` at a name `temporaryPath` gave.
  static func createTemporary(at temporary: String) throws -> Int32 {
    let directory = SystemCalls.directory(of: temporary)
    // O_EXCL | O_NOFOLLOW: never write through a file or symlink someone planted; the mode is
    // set at creation, before any byte exists.
    let descriptor = SystemCalls.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
    guard descriptor >= 0 else { throw SystemCalls.ioError("create a temporary file in", directory) }
    // The umask may have cleared bits but never adds any; make the mode exact regardless.
    guard fchmod(descriptor, 0o600) == 0 else {
      let error = SystemCalls.ioError("set the mode of", temporary)
      unlink(temporary)
      SystemCalls.close(descriptor)
      throw error
    }
    return descriptor
  }

  /// Creates `path` with `bytes` only if nothing is there yet (`vault init`).
  public static func create(_ path: String, with bytes: [UInt8]) throws {
    if SystemCalls.pathStatus(path, followLinks: false) != nil { throw VaultError.vaultExists(path: path) }
    try replace(path, with: bytes)
  }

  /// Removes temp files a killed writer left behind (`staleTemporaries`).
  public static func removeStaleTemporaries(for path: String) {
    for temporary in staleTemporaries(for: path) { unlink(temporary) }
  }

  /// The temp files of `path` a killed writer left behind: every `.<name>.tmp-*` but those a
  /// live writer holds `flock`ed. A save of the vault begins its temporary beside scrypt, before
  /// it takes the lock, and holds it so while it lives (`PreparedReplacement`); the vault's other
  /// saves, the usage state's folds and the run cache write theirs whole, at once, under a lock
  /// their cleaner also takes (or, for the run cache, at the cost of one cache not stored), and
  /// hold no such lock. A temporary is opened for writing (nothing is written) because NFS
  /// grants an exclusive `flock` only on such a descriptor; any answer but the lock granted
  /// (held by a writer, refused, not supported) spares it. `olderThan` (seconds) spares any
  /// younger one too: `vault doctor`, which takes no lock, must not name a save in progress.
  static func staleTemporaries(for path: String, olderThan age: Int? = nil) -> [String] {
    let directory = SystemCalls.directory(of: path)
    let prefix = "." + SystemCalls.baseName(of: path) + ".tmp-"
    let now = Timestamp.now().secondsSinceEpoch
    return (SystemCalls.entryNames(of: directory) ?? []).filter { $0.hasPrefix(prefix) }.map { directory + "/" + $0 }
      .filter { temporary in
        if let age {
          guard let status = SystemCalls.pathStatus(temporary, followLinks: false), SystemCalls.isRegular(status),
            Int64(status.st_mtim.tv_sec) <= now - Int64(age)
          else { return false }
        }
        let descriptor = SystemCalls.open(temporary, O_RDWR | O_NONBLOCK | O_NOFOLLOW)
        // A link or another user's file with a temporary's name: no writer of ours.
        guard descriptor >= 0 else { return true }
        defer { SystemCalls.close(descriptor) }
        return flock(descriptor, LOCK_EX | LOCK_NB) == 0
      }
  }

  /// `.<name>.tmp-<pid>-<16 hex>` beside `path`.
  static func temporaryPath(for path: String) throws -> String {
    let directory = SystemCalls.directory(of: path)
    let name = SystemCalls.baseName(of: path)
    // O_EXCL makes a clash an error, not a hazard; the random part makes it unlikely.
    let random = Hex.encode(try SecureRandom.nameBytes(count: 8))
    return "\(directory)/.\(name).tmp-\(getpid())-\(random)"
  }

  private static func syncDirectory(_ directory: String) throws {
    let descriptor = SystemCalls.open(directory, O_RDONLY | O_DIRECTORY)
    guard descriptor >= 0 else { throw SystemCalls.ioError("open directory", directory) }
    defer { SystemCalls.close(descriptor) }
    guard SystemCalls.fsync(descriptor) == 0 else { throw SystemCalls.ioError("flush directory", directory) }
  }
}
