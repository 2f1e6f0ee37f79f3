#if canImport(Glibc)
  import Glibc
#endif

/// The vault's contents as far as they can be read without a key, the rollback record, and the
/// usage state beside it.
enum VaultChecks {
  /// A file that cannot be read or decoded. (An unsafe type, owner or mode is
  /// `FileChecks.vaultFile`'s finding, not repeated here.)
  static let readable = DoctorCheck(name: "vault-read") { subject in
    guard case .failure(let error) = subject.vault else { return [] }
    if case .insecureFile = error { return [] }
    return [
      DoctorFinding(
        check: "vault-read", severity: .error, subject: subject.store.path,
        message: "the vault \(subject.store.path) cannot be read: \(error.message)",
        fix: error.hint ?? "restore the vault from a backup")
    ]
  }

  /// A file older than a generation this user has seen: an older copy, in which agent keys
  /// revoked since work again (docs/SECURITY.md, "Rollback").
  static let rollback = DoctorCheck(name: "rollback") { subject in
    guard case .success(let locked) = subject.vault, let rollback = subject.store.rollback(of: locked) else {
      return []
    }
    return [
      DoctorFinding(
        check: "rollback", severity: .error, subject: subject.store.path,
        message:
          "the vault file is at generation \(rollback.found), older than generation \(rollback.seen) seen before: it may be an older copy, in which revoked agent keys work again",
        fix:
          "put the newest copy back; if you restored this one on purpose, run 'vault verify --accept-rollback' and revoke again the agent keys revoked since"
      )
    ]
  }

  /// `<vault>.state` and `<vault>.state.log`: missing is fine (nothing used yet); a file
  /// `vault` cannot use (damaged, too large, a link, another user's, writable by others) is set
  /// aside at the next fold and its counts are lost; one readable by others tells them which
  /// keys are used, and when. A `.bad` file left by an earlier set-aside is reported too.
  static let usageState = DoctorCheck(name: "usage-state") { subject in
    let vaultPath = subject.store.targetPath
    let loaded = UsageState.load(forVault: vaultPath)
    return usageFindings(
      UsageState.path(forVault: vaultPath), what: "the usage state file", limit: UsageState.maximumByteCount,
      problem: loaded.problem)
      + usageFindings(
        UsageLog.path(forVault: vaultPath), what: "the usage log", limit: UsageLog.maximumByteCount,
        problem: loaded.logProblem)
  }

  private static func usageFindings(_ path: String, what: String, limit: Int, problem: String?) -> [DoctorFinding] {
    var findings: [DoctorFinding] = []
    if let status = SystemCalls.pathStatus(path, followLinks: false) {
      let mode = status.st_mode & 0o777
      let why: String?
      if SystemCalls.isSymbolicLink(status) {
        why = "is a symbolic link, which vault neither reads nor writes through"
      } else if !SystemCalls.isRegular(status) {
        why = "is not a regular file"
      } else if status.st_uid != geteuid() {
        why = "belongs to another user"
      } else if mode & 0o022 != 0 {
        why = "is writable by group or others (mode \(FileChecks.octal(mode)))"
      } else if Int(status.st_size) > limit {
        why = "is larger than \(limit >> 20) MiB"
      } else if problem != nil {
        why = "is damaged or cannot be read"
      } else {
        why = nil
      }
      if let why {
        findings.append(
          DoctorFinding(
            check: "usage-state", subject: path,
            message: "\(what) \(path) \(why): last-used dates and counts are not recorded",
            fix: "remove it (rm \(path)); the next use starts counting anew"))
      } else if mode & 0o044 != 0 {
        findings.append(
          DoctorFinding(
            check: "usage-state", subject: path,
            message:
              "\(what) \(path) is readable by group or others (mode \(FileChecks.octal(mode))): it tells which keys are used, and when",
            fix: "chmod 600 \(path)"))
      }
    }
    let setAside = path + ".bad"
    if SystemCalls.pathStatus(setAside, followLinks: false) != nil {
      findings.append(
        DoctorFinding(
          check: "usage-state", subject: setAside,
          message: "an unusable \(what.dropFirst(4)) was set aside as \(setAside)",
          fix: "look at it if you wish, then remove it (rm \(setAside))"))
    }
    return findings
  }
}
