#if canImport(Glibc)
  import Glibc
#endif

/// The run cache (`RunCache`; docs/SECURITY.md, "The run cache"): `vault run` and `vault env`
/// store it only in a real directory of this user's that no one else can write to, and read
/// only private regular files of this user's there. Anything else is passed over in silence,
/// so every launch with an agent key reads the whole vault again; this check says why. Only
/// names, owners and modes are looked at: no cache file is ever opened.
enum CacheChecks {
  static let runCache = DoctorCheck(name: "run-cache") { subject in
    if RunCache.isTurnedOff(environment: subject.environment) {
      return [
        DoctorFinding(
          check: "run-cache", severity: .note, subject: "VAULT_RUN_CACHE",
          message:
            "the run cache is off (VAULT_RUN_CACHE=\(subject.environment["VAULT_RUN_CACHE"] ?? "")): each launch with an agent key reads the whole vault",
          fix: "nothing to do; unset VAULT_RUN_CACHE to turn it on")
      ]
    }
    guard let directory = RunCache.forUser(environment: subject.environment)?.directory,
      let status = SystemCalls.pathStatus(directory, followLinks: false)
    else { return [] }
    if let problem = directoryProblem(directory, status) {
      return [
        DoctorFinding(
          check: "run-cache", subject: directory,
          message: "the run cache directory \(directory) \(problem.why): vault stores no run cache there",
          fix: problem.fix)
      ]
    }
    return (SystemCalls.entryNames(of: directory) ?? []).sorted().compactMap { name in
      let path = directory + "/" + name
      guard let status = SystemCalls.pathStatus(path, followLinks: false), let problem = fileProblem(path, status)
      else { return nil }
      return DoctorFinding(
        check: "run-cache-file", subject: path,
        message: "the run cache file \(path) \(problem.why): launches do not read it", fix: problem.fix)
    }
  }

  /// What is wrong with a path, as the end of a sentence naming it, and what to do.
  private struct Problem {
    var why: String
    var fix: String
  }

  /// What `RunCache.store` refuses to write into, and how to put it right.
  private static func directoryProblem(_ directory: String, _ status: stat) -> Problem? {
    let remove = "remove it (rm -r \(directory)); vault makes a new one"
    if SystemCalls.isSymbolicLink(status) {
      return Problem(why: "is a symbolic link", fix: "rm \(directory); vault makes a new one")
    }
    if !SystemCalls.isDirectory(status) { return Problem(why: "is not a directory", fix: remove) }
    if status.st_uid != geteuid() { return Problem(why: "belongs to another user", fix: remove) }
    if !SystemCalls.isOwn(status, forbidding: 0o022) {
      return Problem(
        why: "is writable by group or others (mode \(FileChecks.octal(status.st_mode & 0o777)))",
        fix: "chmod 700 \(directory)")
    }
    return nil
  }

  /// What `RunCache.load` refuses to read: a launch then reads the vault, and replaces the file.
  private static func fileProblem(_ path: String, _ status: stat) -> Problem? {
    let remove = "rm \(path); the next launch makes a new one"
    if SystemCalls.isSymbolicLink(status) { return Problem(why: "is a symbolic link", fix: remove) }
    if !SystemCalls.isRegular(status) { return Problem(why: "is not a regular file", fix: remove) }
    if status.st_uid != geteuid() { return Problem(why: "belongs to another user", fix: remove) }
    if !SystemCalls.isOwn(status, forbidding: 0o077) {
      return Problem(
        why: "is open to group or others (mode \(FileChecks.octal(status.st_mode & 0o777)))", fix: "chmod 600 \(path)")
    }
    return nil
  }
}
