#if canImport(Glibc)
  import Glibc
#endif

extension UsageLog {
  /// Appends the line of one use to the log, in one write(2), when the log and the snapshot are
  /// as a fold left them; false when the caller must fold instead: no log, a log that is not a
  /// regular file of this user closed to group and others, a log the line would take past
  /// `foldByteCount`, or a log header whose fold number is not the snapshot's (a crash between
  /// a fold's two renames, or a snapshot of version 2 or older). Called under
  /// `<vault>.state.lock`.
  ///
  /// The snapshot's own damage is not looked for here (only its header is read): readers report
  /// it, and the next fold sets it aside.
  static func append(agent: RecordID?, keys: [RecordID], at epoch: Int64, forVault vaultPath: String) throws -> Bool {
    let path = path(forVault: vaultPath)
    // O_NOFOLLOW: a symlink planted here is not written through; O_NONBLOCK: nor does a FIFO
    // hang the run (it is no regular file, so the fold then replaces it). Never created here:
    // only a fold makes a log, whole, with its header.
    let descriptor = SystemCalls.open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK)
    guard descriptor >= 0 else { return false }
    defer { SystemCalls.close(descriptor) }
    guard let status = SystemCalls.fileStatus(descriptor), isOwnRegularFile(status) else { return false }
    let size = Int(status.st_size)
    let head = SystemCalls.read(descriptor, count: min(size, 64), at: 0)
    guard let fold = head.withUnsafeBufferPointer({ header(in: $0)?.fold }),
      fold == snapshotFold(UsageState.path(forVault: vaultPath))
    else { return false }
    let last = size <= head.count ? head.last : SystemCalls.read(descriptor, count: 1, at: size - 1).first
    guard let last else { return false }
    let line = line(agent: agent, keys: keys, at: epoch, after: last)
    guard size + line.count <= foldByteCount else { return false }
    if let code = SystemCalls.writeAll(descriptor, line[...]) { throw SystemCalls.ioError("write", path, code) }
    return true
  }

  /// The fold number in the header of the snapshot at `path`; nil when there is no snapshot of
  /// version 3 there that is a regular file of this user, closed to group and others, within
  /// its size limit.
  private static func snapshotFold(_ path: String) -> Int64? {
    let descriptor = SystemCalls.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    guard descriptor >= 0 else { return nil }
    defer { SystemCalls.close(descriptor) }
    guard let status = SystemCalls.fileStatus(descriptor), isOwnRegularFile(status),
      status.st_size <= UsageState.maximumByteCount
    else { return nil }
    return SystemCalls.read(descriptor, count: 64, at: 0).withUnsafeBufferPointer { UsageState.header(in: $0)?.fold }
  }

  /// The checks `VaultFile.read` makes of every file `vault` reads beside the vault.
  private static func isOwnRegularFile(_ status: stat) -> Bool {
    SystemCalls.isRegular(status) && SystemCalls.isOwn(status, forbidding: 0o022)
  }
}
