#if canImport(Glibc)
  import Glibc
#endif

/// The vault file, its directory and the files `vault` keeps beside it: type, owner and mode.
enum FileChecks {
  /// The vault file: a regular file of this user, mode 0600. `vault` refuses one that group or
  /// others can write (exit 9); one they can read gives them the sealed keys to attack offline
  /// and the metadata (names, providers, masked values) in clear.
  static let vaultFile = DoctorCheck(name: "vault-file") { subject in
    let path = subject.store.path
    guard let link = SystemCalls.pathStatus(path, followLinks: false), let status = SystemCalls.pathStatus(path)
    else { return [] }
    let through = SystemCalls.isSymbolicLink(link) ? " (through a symbolic link)" : ""
    func finding(_ severity: DoctorFinding.Severity, _ message: String, _ fix: String) -> [DoctorFinding] {
      [DoctorFinding(check: "vault-file", severity: severity, subject: path, message: message, fix: fix)]
    }
    guard SystemCalls.isRegular(status) else {
      return finding(
        .error, "the vault \(path)\(through) is not a regular file", "point --file or VAULT_FILE at the vault file")
    }
    guard status.st_uid == geteuid() else {
      return finding(
        .error, "the vault file \(path)\(through) belongs to another user",
        "use your own vault, or chown it to yourself")
    }
    let mode = status.st_mode & 0o777
    if mode & 0o022 != 0 {
      return finding(
        .error, "the vault file \(path) is writable by group or others (mode \(octal(mode))); vault refuses it",
        "chmod 600 \(path)")
    }
    if mode & 0o044 != 0 {
      return finding(
        .warning,
        "the vault file \(path) is readable by group or others (mode \(octal(mode))): its sealed keys can be copied and attacked offline",
        "chmod 600 \(path)")
    }
    return []
  }

  /// The vault's directory: whoever can write to it can replace or remove the vault. The
  /// default directory, which `vault` makes 0700 and which holds only the vault's files, should
  /// stay closed to group and others.
  static let directory = DoctorCheck(name: "vault-directory") { subject in
    let directory = SystemCalls.directory(of: subject.store.targetPath)
    guard let status = SystemCalls.pathStatus(directory) else { return [] }
    func finding(_ message: String, _ fix: String) -> [DoctorFinding] {
      [DoctorFinding(check: "vault-directory", subject: directory, message: message, fix: fix)]
    }
    if status.st_uid != geteuid() && status.st_uid != 0 {
      return finding(
        "the vault's directory \(directory) belongs to another user, who can replace the vault file",
        "move the vault into a directory of your own (mode 700)")
    }
    let mode = status.st_mode & 0o777
    if mode & 0o022 != 0 {
      return finding(
        "the vault's directory \(directory) is writable by group or others (mode \(octal(mode))): they can replace or remove the vault file",
        subject.isDefaultLocation
          ? "chmod 700 \(directory)" : "chmod go-w \(directory), or move the vault into a directory of mode 700")
    }
    if subject.isDefaultLocation && mode & 0o077 != 0 {
      return finding(
        "the vault's own directory \(directory) is open to group or others (mode \(octal(mode)))",
        "chmod 700 \(directory)")
    }
    return []
  }

  /// The lock files beside the vault (`<vault>.lock`, `<vault>.state.lock`): `vault` makes them
  /// 0600 and never follows a link there, so a link makes every write fail, and anyone who can
  /// open one can hold the lock and keep writers waiting.
  static let besideFiles = DoctorCheck(name: "lock-files") { subject in
    CompanionFiles(ofVault: subject.store.targetPath).locks.compactMap { path in
      guard let status = SystemCalls.pathStatus(path, followLinks: false) else { return nil }
      let problem: (String, String)?
      if SystemCalls.isSymbolicLink(status) {
        problem = ("is a symbolic link, which vault does not follow there", "rm \(path); vault makes a new one")
      } else if !SystemCalls.isRegular(status) {
        problem = ("is not a regular file", "remove it; vault makes a new one")
      } else if status.st_uid != geteuid() {
        problem = ("belongs to another user", "rm \(path); vault makes a new one")
      } else if status.st_mode & 0o077 != 0 {
        problem = (
          "is open to group or others (mode \(octal(status.st_mode & 0o777))): they could hold the lock",
          "chmod 600 \(path)"
        )
      } else {
        problem = nil
      }
      return problem.map {
        DoctorFinding(check: "lock-file", subject: path, message: "the lock file \(path) \($0.0)", fix: $0.1)
      }
    }
  }

  /// The vault and the files `vault` keeps beside it, each with one name. A second hard link is
  /// another path to the same file: it shares every write (two vaults sharing a lock or a usage
  /// log) until `vault` replaces the file by rename, and then keeps the old contents (an older
  /// vault, in which revoked agent keys work). One made on purpose looks the same, so it is a
  /// warning, not an error.
  static let hardLinks = DoctorCheck(name: "hard-links") { subject in
    let target = subject.store.targetPath
    return ([target] + CompanionFiles(ofVault: target).all).compactMap { path in
      guard let status = SystemCalls.pathStatus(path, followLinks: false), SystemCalls.isRegular(status),
        status.st_nlink > 1
      else { return nil }
      return DoctorFinding(
        check: "hard-link", subject: path,
        message:
          "\(path) has \(status.st_nlink) hard links: another path is the same file, sharing its writes until vault replaces it and keeping the old contents after",
        fix: "remove the other link (find \(fileSystemTop(of: path)) -xdev -samefile \(path))")
    }
  }

  /// The temporary of a save that never reached its rename (a writer killed with SIGKILL, a
  /// crash; SIGINT, SIGTERM and SIGHUP remove the one begun beside scrypt): a copy of the vault
  /// as it was then, beside it with the same mode, until the next save removes it. It may still
  /// hold a key removed since, or the master key sealed under a passphrase changed since. A live
  /// writer's (held `flock`ed) is not reported.
  static let leftoverTemporaries = DoctorCheck(name: "leftover-temporaries") { subject in
    // A minute old at least: a save in progress takes milliseconds past its lock (its early
    // temporary, begun beside scrypt, is held flocked until then).
    VaultFile.staleTemporaries(for: subject.store.targetPath, olderThan: 60).map { path in
      DoctorFinding(
        check: "leftover-temporary", subject: path,
        message:
          "\(path) was left by a save that did not finish: a copy of the vault as it was then, which may still hold what was removed or changed since",
        fix: "rm \(path) (the next save removes it too)")
    }
  }

  /// The top directory of the file system holding `path`: a hard link cannot leave it, so
  /// `find -xdev` from there sees every other name of the file.
  private static func fileSystemTop(of path: String) -> String {
    var top = SystemCalls.directory(of: path)
    guard let device = SystemCalls.pathStatus(top)?.st_dev else { return top }
    while true {
      let parent = SystemCalls.directory(of: top)
      guard parent != top, SystemCalls.pathStatus(parent)?.st_dev == device else { return top }
      top = parent
    }
  }

  static func octal(_ mode: mode_t) -> String {
    let digits = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
  }
}
