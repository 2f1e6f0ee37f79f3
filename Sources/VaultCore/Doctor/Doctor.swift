/// One thing `vault doctor` found: what, about which file or key, and what to do. Never a
/// secret value: names, paths, dates, modes and masked forms only.
public struct DoctorFinding: Equatable, Sendable {
  public enum Severity: String, Sendable {
    /// Works today, but weaker than it should be (a readable file, a key unused for months).
    case warning
    /// `vault` refuses something or will soon (an unsafe vault file, an older copy).
    case error
    /// Worth knowing, nothing to fix (the vault is unlocked until 15:04): printed, and not
    /// counted, so it never makes `doctor` exit 1.
    case note
  }

  /// Whether this finding asks for something to be done.
  public var isProblem: Bool { severity != .note }

  /// The check's stable identifier (`vault-file`, `agent-key-expiry`, ...), for `--json`.
  public var check: String
  public var severity: Severity
  /// What it is about: a path, a variable's name, a key's name.
  public var subject: String
  public var message: String
  public var fix: String

  public init(check: String, severity: Severity = .warning, subject: String, message: String, fix: String) {
    self.check = check
    self.severity = severity
    self.subject = subject
    self.message = message
    self.fix = fix
  }
}

/// What the checks look at, gathered once. Everything here is readable without the passphrase.
public struct DoctorSubject: Sendable {
  public let store: VaultStore
  /// Whether the vault is at the default path, in a directory of its own that `vault` made.
  public let isDefaultLocation: Bool
  public let environment: [String: String]
  /// The secret-valued credential variables that are set (the executable moves them out of
  /// `environment` at start-up, so the command line says which were there).
  public let credentialVariablesSet: Set<CredentialVariable>
  public let now: Timestamp
  /// The vault read without a key, or why it could not be; nil when there is no file.
  public let vault: Result<LockedVault, VaultError>?

  public init(
    store: VaultStore, isDefaultLocation: Bool, environment: [String: String],
    credentialVariablesSet: Set<CredentialVariable>, now: Timestamp
  ) {
    self.store = store
    self.isDefaultLocation = isDefaultLocation
    self.environment = environment
    self.credentialVariablesSet = credentialVariablesSet
    self.now = now
    do {
      vault = .success(try store.read(warningOfRollback: false))
    } catch VaultError.vaultNotFound {
      vault = nil
    } catch let error as VaultError {
      vault = .failure(error)
    } catch {
      vault = .failure(.io("\(error)"))
    }
  }

  /// The document, when the file could be read.
  public var document: VaultDocument? {
    if case .success(let locked) = vault { return locked.document }
    return nil
  }
}

/// One group of checks: a name and what it finds.
public struct DoctorCheck: Sendable {
  public var name: String
  public var run: @Sendable (DoctorSubject) -> [DoctorFinding]

  public init(name: String, run: @escaping @Sendable (DoctorSubject) -> [DoctorFinding]) {
    self.name = name
    self.run = run
  }
}

/// `vault doctor`: what a careful owner would check, with no passphrase (issue 10, point 5).
public enum Doctor {
  /// Every check, in the order their findings are printed. The unlock-session checks need the
  /// kernel keyring and the agent's socket, which live in the command line: `vault doctor`
  /// appends them (`SessionChecks`).
  public static let checks: [DoctorCheck] = [
    FileChecks.vaultFile, FileChecks.directory, FileChecks.besideFiles, FileChecks.hardLinks,
    FileChecks.leftoverTemporaries,
    VaultChecks.readable, VaultChecks.rollback, VaultChecks.usageState,
    CredentialChecks.files, CredentialChecks.variables, CredentialChecks.identityFiles,
    KeyChecks.agentExpiry, KeyChecks.unusedKeys, KeyChecks.keyShape,
    CacheChecks.runCache,
  ]

  /// Runs `checks` on `subject`; no finding means all is well.
  public static func examine(_ subject: DoctorSubject, checks: [DoctorCheck] = checks) -> [DoctorFinding] {
    checks.flatMap { $0.run(subject) }
  }
}
