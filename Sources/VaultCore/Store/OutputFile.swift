#if canImport(Glibc)
  import Glibc
#endif

/// Where a command may write a file of the user's choosing (`vault inject -o`): never over the
/// vault's own files, and never over anything but a regular file of the caller's.
public enum OutputFile {
  /// Throws `insecureFile` (exit 9) when `path` names the vault, its lock, its state file, the
  /// state's lock or log, their `.bad` copies, or one of their temporary files (by name or by inode, so a hard link or a
  /// second path to the same file is caught too), or exists and is not a regular file owned by
  /// the caller: a symlink is refused, not replaced; a device, FIFO, socket or directory is
  /// refused. A missing file is fine: it is created 0600.
  public static func check(_ path: String, besides vault: VaultStore) throws {
    let target = vault.targetPath
    let companions = CompanionFiles(ofVault: target)
    let (state, log) = (companions.state, companions.log)
    // The usage files' `.bad` copies too: a later set-aside renames over them.
    let own = [target] + companions.all + [state + ".bad", log + ".bad"]
    let output = resolvedLocation(of: path)
    let ownDirectory = SystemCalls.directory(of: target)
    // The temporaries of a save, and of a fold of the usage snapshot or log.
    let temporaryPrefixes = [target, state, log].map { "." + SystemCalls.baseName(of: $0) + ".tmp-" }
    let outputName = SystemCalls.baseName(of: output)
    if own.contains(output)
      || (SystemCalls.directory(of: output) == ownDirectory && temporaryPrefixes.contains { outputName.hasPrefix($0) })
    {
      throw VaultError.insecureFile(
        "refusing to write \(path): it is one of the vault's own files", hint: "choose another output file")
    }
    guard let status = SystemCalls.pathStatus(path, followLinks: false) else { return }
    guard SystemCalls.isRegular(status) else {
      let kind =
        status.st_mode & S_IFMT == S_IFLNK
        ? "a symbolic link" : status.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
      throw VaultError.insecureFile(
        "refusing to write \(path): it is \(kind)", hint: "remove it or choose another output file")
    }
    guard status.st_uid == geteuid() else {
      throw VaultError.insecureFile(
        "refusing to write \(path): it belongs to another user", hint: "choose an output file of your own")
    }
    for file in own {
      if let other = SystemCalls.pathStatus(file, followLinks: false), other.st_dev == status.st_dev,
        other.st_ino == status.st_ino
      {
        throw VaultError.insecureFile(
          "refusing to write \(path): it is one of the vault's own files", hint: "choose another output file")
      }
    }
  }

  /// `path` with its directory resolved (the file itself may not exist yet, and a symlink there
  /// is refused by the caller rather than followed).
  private static func resolvedLocation(of path: String) -> String {
    let directory = SystemCalls.realPath(SystemCalls.directory(of: path)) ?? SystemCalls.directory(of: path)
    return (directory == "/" ? "" : directory) + "/" + SystemCalls.baseName(of: path)
  }
}
