import VaultCore
import VaultCrypto

/// Where unlock sessions live and how a command finds one: the kernel keyring first (the
/// record sealed under `SessionWrapKey`), the unlock agent where keyctl is refused. `VAULT_UNLOCK_BACKEND=agent` (or `keyring`) pins one.
struct UnlockSessions {
  enum Backend: String {
    case keyring
    case agent

    var described: String {
      switch self {
      case .keyring: return "the kernel keyring of this login session"
      case .agent: return "an unlock agent process"
      }
    }
  }

  let environment: [String: String]

  static let backendVariable = "VAULT_UNLOCK_BACKEND"

  /// The backend the user pinned, if any; an unknown name is a usage error.
  func pinnedBackend() throws -> Backend? {
    guard let name = environment[Self.backendVariable], !name.isEmpty else { return nil }
    guard let backend = Backend(rawValue: name) else {
      throw VaultError.usage(
        "\(Self.backendVariable) must be 'keyring' or 'agent', not '\(DisplaySafety.sanitized(name))'")
    }
    return backend
  }

  private var backendsToSearch: [Backend] {
    switch (try? pinnedBackend()) ?? nil {
    case .keyring?: return [.keyring]
    case .agent?: return [.agent]
    case nil: return [.keyring, .agent]
    }
  }

  private var agent: UnlockAgentClient { UnlockAgentClient(environment: environment) }

  /// The session's record for `vaultID` and where it was found, or nil when this vault is locked.
  func find(vaultID: [UInt8]) -> (record: UnlockSessionRecord, backend: Backend)? {
    for backend in backendsToSearch {
      switch backend {
      case .keyring:
        let description = KernelKeyring.description(vaultID: vaultID)
        if let payload = try? KernelKeyring.read(
          description: description, maximumLength: UnlockSessionRecord.encodedByteCount + 64),
          let directory = try? agent.socketDirectory(creating: false),
          let key = try? SessionWrapKey.load(directory: directory, creating: false),
          let opened = SessionWrapKey.unseal(payload, key: key), let record = UnlockSessionRecord.decode(opened)
        {
          return (record, .keyring)
        }
      case .agent:
        if let record = agent.record(vaultID: vaultID) { return (record, .agent) }
      }
    }
    return nil
  }

  /// The session's record for the vault of `header`, for `VaultCredential.session` (which
  /// checks that it still fits the file).
  func record(for header: VaultHeader) -> UnlockSessionRecord? {
    find(vaultID: header.id)?.record
  }

  /// Keeps `record` until it expires, in the keyring unless keyctl is refused here (or the
  /// agent is pinned); any earlier session of this vault ends first.
  func start(_ record: UnlockSessionRecord, seconds: Int64) throws -> Backend {
    end(vaultID: record.vaultID)
    if try pinnedBackend() != .agent {
      let directory = try agent.socketDirectory(creating: true)
      guard let key = try SessionWrapKey.load(directory: directory, creating: true) else {
        throw VaultError.io("cannot make the session key in \(directory)")
      }
      let sealed = try SessionWrapKey.seal(record.encoded(), key: key)
      do {
        try KernelKeyring.store(
          sealed, description: KernelKeyring.description(vaultID: record.vaultID), seconds: seconds)
        return .keyring
      } catch .refused(let reason) {
        if try pinnedBackend() == .keyring {
          throw VaultError.io("the kernel keyring refused the session (\(reason))")
        }
      } catch .failed(let reason) {
        throw VaultError.io("cannot keep the session in the kernel keyring: \(reason)")
      }
    }
    try agent.start(record)
    return .agent
  }

  /// Ends every session of `vaultID` this process can reach (in the pinned backend only, when
  /// one is pinned); the backends that held one.
  @discardableResult
  func end(vaultID: [UInt8]) -> [Backend] {
    backendsToSearch.filter { backend in
      switch backend {
      case .keyring: return KernelKeyring.remove(description: KernelKeyring.description(vaultID: vaultID))
      case .agent: return agent.end(vaultID: vaultID)
      }
    }
  }

  /// Whether each backend works here, for `vault doctor`: the keyring answers keyctl, and the
  /// agent's socket directory is private, or missing where it can be made. Nothing is created.
  func availability() -> (keyring: Bool, agentProblem: String?) {
    (KernelKeyring.isUsable, agent.socketDirectoryProblem())
  }
}
