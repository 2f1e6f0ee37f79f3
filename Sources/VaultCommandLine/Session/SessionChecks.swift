import VaultCore

/// `vault doctor`'s unlock-session checks: whether this vault is unlocked (a note, not a
/// problem), whether a session of an older passphrase lingers, and whether `vault unlock` can
/// keep a session here at all.
enum SessionChecks {
  static func findings(_ context: Context, document: VaultDocument?) -> [DoctorFinding] {
    let sessions = UnlockSessions(environment: context.environment)
    var findings: [DoctorFinding] = []
    if let document, let found = sessions.find(vaultID: document.header.id) {
      if found.record.access(document.header, members: document.members) != nil {
        findings.append(
          DoctorFinding(
            check: "unlock-session", severity: .note, subject: context.location.path,
            message: "the vault is unlocked until \(found.record.expires.rfc3339), in \(found.backend.described)",
            fix: "'vault lock' ends it"))
      } else {
        findings.append(
          DoctorFinding(
            check: "unlock-session", subject: context.location.path,
            message: "a session of an older passphrase or membership is still held (it opens nothing)",
            fix: "'vault lock' removes it"))
      }
    }
    let (keyring, agentProblem) = sessions.availability()
    switch (keyring, agentProblem) {
    case (true, _):
      break
    case (false, nil):
      findings.append(
        DoctorFinding(
          check: "unlock-backend", severity: .note, subject: "keyctl",
          message: "the kernel keyring is refused here (a seccomp profile?); 'vault unlock' uses the unlock agent",
          fix: "nothing to do; docs/SECURITY.md says who can use an agent's session"))
    case (false, let problem?):
      findings.append(
        DoctorFinding(
          check: "unlock-backend", subject: "keyctl",
          message: "'vault unlock' cannot work here: the kernel keyring is refused and \(problem)",
          fix: "set XDG_RUNTIME_DIR to a private directory of yours (mode 0700)"))
    }
    return findings
  }
}
