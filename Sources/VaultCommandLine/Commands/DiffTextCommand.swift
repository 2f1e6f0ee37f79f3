import VaultCore

/// `vault diff-text FILE`: git's textconv for a vault (`diff.llm-vault.textconv`). One line per
/// record, sorted, from metadata alone: no passphrase, never a value or a ciphertext.
enum DiffTextCommand: Command {
  static let spec = CommandSpec(
    name: "diff-text",
    summary: "Print a vault file as masked text, one line per record, for 'git diff' (no passphrase).",
    arguments: [.init(name: "file", help: "The vault file (git passes a temporary copy).")],
    discussion: """
      Set up by 'vault git-setup' as git's textconv, so 'git diff' and 'git log -p' show what
      changed: keys with their masked values, agent keys with their status and scope, settings.
      A value change shows as a new masked form or 'updated' time; re-keying shows only as a new
      generation. A file that is not a readable vault prints one line saying so and exits 0, so
      'git diff' never stops on it.
      """)

  static func run(_ context: Context) throws {
    let path = context.arguments.positionals[0]
    let locked: LockedVault
    do {
      locked = try VaultStore(path: path).read(warningOfRollback: false)
    } catch let error as VaultError {
      // An empty file is git's side of an added or deleted path: nothing to show.
      if case .integrity = error, (try? VaultFile.read(path))?.isEmpty == true { return }
      Console.out("(not a readable vault file: \(DisplaySafety.sanitized(error.message)))\n")
      return
    }
    Console.out(lines(locked.document, now: .now()).joined(separator: "\n") + "\n")
  }

  /// The text view: the header, settings, members, provider keys, agent keys, each group sorted.
  static func lines(_ document: VaultDocument, now: Timestamp) -> [String] {
    let header = document.header
    var lines = ["vault \(header.idHex) generation \(header.generation)"]
    if let slot = header.passphraseSlot {
      let parameters = slot.kdf.parameters
      // The salt is not secret; its first bytes show when 'vault passwd' changed the slot.
      lines.append(
        "passphrase scrypt n=\(parameters.n) r=\(parameters.r) p=\(parameters.p) salt=\(Hex.encode(Array(slot.kdf.salt.prefix(4))))"
      )
    } else {
      lines.append("passphrase none")
    }
    lines.append("setting agent-keys.limit \(header.settings.agentKeyLimit)")
    for endpoint in header.settings.endpoints.sorted(by: { $0.provider < $1.provider }) {
      lines.append("setting provider.\(endpoint.provider).base-url \(DisplaySafety.sanitized(endpoint.baseURL))")
    }
    lines += memberLines(document)
    for key in document.keys.sorted(by: { $0.name < $1.name }) {
      lines.append(keyLine(key, all: document.keys))
    }
    for agent in document.agents.sorted(by: { $0.name < $1.name }) {
      lines.append(agentLine(agent, keys: document.keys, now: now))
    }
    return lines
  }

  /// One `member NAME ROLE RECIPIENT added=TIME by=USER` line each (the recipient shortened, as
  /// `vault member list` shows it), sorted by name. A personal vault (version 2) has none.
  static func memberLines(_ document: VaultDocument) -> [String] {
    document.members.sorted { $0.name < $1.name }.map {
      "member \($0.name) \($0.role.rawValue) \($0.shortRecipient) added=\($0.added.rfc3339) by=\(DisplaySafety.sanitized($0.addedBy))"
    }
  }

  static func keyLine(_ key: ProviderKey, all: [ProviderKey]) -> String {
    var line = "key \(key.name) (\(key.provider ?? "-")) \(DisplaySafety.sanitized(key.masked))"
    line += " models=" + (key.models.isEmpty ? "-" : key.models.joined(separator: ","))
    line += " env=" + (key.environmentNames.isEmpty ? "-" : key.environmentNames.joined(separator: ","))
    if KeySelection.isDefault(key, in: all) { line += " default" }
    line += " updated=\(key.updated.rfc3339)"
    return line
  }

  static func agentLine(_ agent: AgentKey, keys: [ProviderKey], now: Timestamp) -> String {
    var line = "agent \(agent.name) \(agent.status(at: now).label.lowercased())"
    line += " scope=" + words(AgentPresentation.scope(agent.scope, keys: keys))
    line += " expires=\(agent.expires.rfc3339)"
    if let revoked = agent.revoked { line += " revoked=\(revoked.rfc3339)" }
    line += " token=\(DisplaySafety.sanitized(agent.display))"
    if agent.credentials.count > 1 { line += "+\(agent.credentials.count - 1)" }
    if !agent.limits.isNone {
      let limits = AgentLimits.members.compactMap { member in
        agent.limits[keyPath: member.keyPath].map { "\(member.option)=\($0)" }
      }
      line += " limits=" + limits.joined(separator: ",")
    }
    line += " by=" + words(DisplaySafety.sanitized(agent.createdBy))
    return line
  }

  /// `text` as one word: spaces become `-`, so every field of a line stays one field.
  private static func words(_ text: String) -> String {
    text.split(separator: " ", omittingEmptySubsequences: false).joined(separator: "-")
  }
}
