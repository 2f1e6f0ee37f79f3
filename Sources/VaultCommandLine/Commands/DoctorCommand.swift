import VaultCore

enum DoctorCommand: Command {
  static let spec = CommandSpec(
    name: "doctor",
    summary: "Check the vault's files, keys and settings as a careful owner would. No passphrase needed.",
    options: [.init(name: "json", help: "Print JSON for scripts.")],
    discussion: """
      Checks the modes and owners of the vault file, its directory, its lock and usage state
      files, the file named by VAULT_PASSPHRASE_FILE and the identity files; VAULT_PASSPHRASE set in the
      environment; agent keys that expire within 14 days; provider keys unused for 90 days;
      provider keys whose masked form is shaped like another provider's key; an older copy of
      the vault (a rollback); a damaged usage state file; whether the vault is unlocked ('vault
      unlock') and whether the kernel keyring or the unlock agent works here;
      a second hard link to the vault or a file beside it (another path sharing its writes);
      a temporary file left by a save that did not finish (a copy of the vault as it was);
      a run cache directory or file that is a link, another user's or open to others (nothing is
      cached there), and the run cache turned off by VAULT_RUN_CACHE (a note).
      Makes no directory and writes no file. Prints one line per finding with what to do (and
      'note:' lines that need nothing done), and exits 0 when there is no finding, 1 otherwise.
      """)

  static func run(_ context: Context) throws {
    let subject = DoctorSubject(
      store: context.store, isDefaultLocation: context.location.isDefault, environment: context.environment,
      credentialVariablesSet: Set(CredentialVariable.allCases.filter { ProcessCredentials.value($0) != nil }),
      now: .now())
    guard subject.vault != nil else { throw VaultError.vaultNotFound(path: context.location.path) }
    let findings = Doctor.examine(subject) + SessionChecks.findings(context, document: subject.document)
    let problems = findings.filter(\.isProblem).count
    if context.arguments.flag("json") {
      Console.outBytes(json(findings))
    } else {
      for finding in findings {
        Console.out(DisplaySafety.sanitized("\(finding.severity.rawValue): \(finding.message); \(finding.fix)") + "\n")
      }
      Console.out(
        problems == 0
          ? "vault doctor: all checks passed\n" : "vault doctor: \(problems) finding\(problems == 1 ? "" : "s")\n")
    }
    // Findings are the answer, not a failure of the command: no `vault: error:` line, exit 1.
    if problems > 0 {
      Console.flushWarnings()
      throw ChildExit(code: ExitCode.failure.rawValue)
    }
  }

  /// `{"ok":BOOL,"findings":[{"check":...,"severity":...,"subject":...,"message":...,"fix":...}]}`
  private static func json(_ findings: [DoctorFinding]) -> [UInt8] {
    var writer = JSONWriter(escapingUnsafeScalars: true)
    writer.raw("{\"ok\":")
    writer.bool(!findings.contains(where: \.isProblem))
    writer.raw(",\"findings\":[")
    for (index, finding) in findings.enumerated() {
      if index > 0 { writer.raw(",") }
      writer.raw("{\"check\":")
      writer.string(finding.check)
      writer.raw(",\"severity\":")
      writer.string(finding.severity.rawValue)
      writer.raw(",\"subject\":")
      writer.string(finding.subject)
      writer.raw(",\"message\":")
      writer.string(finding.message)
      writer.raw(",\"fix\":")
      writer.string(finding.fix)
      writer.raw("}")
    }
    writer.raw("]}\n")
    return writer.bytes
  }
}
