import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

private let jsonOption = CommandSpec.Option(name: "json", help: "Print JSON for scripts.")
private let yesOption = CommandSpec.Option(
  name: "yes", short: "y", help: "Do not ask; needed when there is no terminal.")
private let outOption = CommandSpec.Option(
  name: "out", value: "<file>", help: "Write the token to this new file (mode 0600) instead of standard output.")
private let nameArgument = CommandSpec.Argument(name: "name", help: "The agent key's name.")

enum AgentKeyCreateCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key create",
    summary: "Issue an agent key: a token shown once, scoped to some provider keys.",
    arguments: [.init(name: "name", help: "A name for the agent key: letters, digits, '.', '_' or '-'.")],
    options: [
      .init(name: "all", help: "Scope: every provider key, now and later."),
      .init(name: "key", value: "<name>", repeatable: true, help: "Scope: this provider key."),
      .init(
        name: "provider", value: "<provider>", repeatable: true,
        help: "Scope: the keys of this provider, now and later."),
      .init(
        name: "model", value: "<model>", repeatable: true, help: "Scope: the keys linked to this model, now and later."),
      .init(
        name: "expires", value: "<duration>",
        help: "Lifetime: 7d, 30d, 60d, 90d, 180d, 365d, or e.g. 12h, 45m, 90s (default: 90d, at most 365d)."),
    ] + GatewayLimitOptions.options + [outOption, jsonOption],
    discussion: """
      The token is printed once: alone on standard output when it is not a terminal, so
      T=$(vault agent-key create ...) works. The vault keeps only its SHA-256 and its first and
      last 4 characters.
      """)

  static func run(_ context: Context) throws {
    let arguments = context.arguments
    let name = arguments.positionals[0]
    try Names.validateAgentName(name)
    let lifetime = try AgentKeyCommands.lifetime(arguments.value("expires")) ?? VaultDocument.defaultAgentLifetime
    let providers = try arguments.values("provider").map(Names.normalizedProvider)
    for model in arguments.values("model") { try Names.validateModel(model) }
    let keyNames = arguments.values("key")
    let all = arguments.flag("all")
    if all && !(keyNames.isEmpty && providers.isEmpty && arguments.values("model").isEmpty) {
      throw VaultError.usage("--all already covers every key; drop --key, --provider and --model")
    }
    let locked = try context.store.read()
    let scopeKeys = try keyNames.map { try locked.document.key(named: $0).id }
    let scope = AgentScope(all: all, keys: scopeKeys, providers: providers, models: arguments.values("model"))
    guard !scope.isEmpty else { throw VaultError.usage("give a scope: --all, or --key, --provider or --model") }
    let limits = try GatewayLimitOptions.apply(arguments, to: .none)
    let createdBy = AgentKeyCommands.currentUser(context.environment)
    let outFile = try AgentKeyCommands.checkedOutPath(arguments.value("out"))
    let (token, agent) = try AgentKeyCommands.issuing(outFile) {
      try context.store.update(credential: context.credential) { document, keyring in
        let token = try document.createAgent(
          name: name, scope: scope, lifetime: lifetime, createdBy: createdBy, keyring: keyring, now: .now())
        if !limits.isNone { try document.setAgentLimits(name, limits, keyring: keyring, now: .now()) }
        return (token, try document.agent(named: name))
      }
    }
    try AgentKeyCommands.deliver(token, agent: agent, outFile: outFile, context: context)
  }
}

enum AgentKeyListCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key list", summary: "List agent keys: status, masked key, scope, dates. No passphrase needed.",
    options: [jsonOption])

  static func run(_ context: Context) throws {
    let document = try context.store.read().document
    try AgentKeyCommands.printAgents(document.agents, document: document, context: context)
  }
}

enum AgentKeySearchCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key search",
    summary: "Find agent keys by name, scope or creator (case-insensitive). No passphrase needed.",
    arguments: [.init(name: "term", help: "Text to look for.")], options: [jsonOption])

  static func run(_ context: Context) throws {
    let document = try context.store.read().document
    let term = context.arguments.positionals[0].lowercased()
    let found = document.agents.filter { agent in
      [agent.name, agent.createdBy, AgentPresentation.scope(agent.scope, keys: document.keys)]
        .contains { $0.lowercased().contains(term) }
    }
    try AgentKeyCommands.printAgents(found, document: document, context: context)
  }
}

enum AgentKeyShowCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key show", summary: "Show one agent key's details. No passphrase needed.", arguments: [nameArgument],
    options: [jsonOption])

  static func run(_ context: Context) throws {
    let document = try context.store.read().document
    let agent = try document.agent(named: context.arguments.positionals[0])
    let usage = context.store.usage()
    if context.arguments.flag("json") {
      var writer = JSONWriter(escapingUnsafeScalars: true)
      AgentPresentation.json(agent, keys: document.keys, usage: usage, now: .now(), into: &writer)
      writer.raw("\n")
      Console.outBytes(writer.bytes)
    } else {
      Console.out(AgentPresentation.details(agent, keys: document.keys, usage: usage, now: .now()))
    }
  }
}

enum AgentKeyRenameCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key rename", summary: "Rename an agent key (its token is unchanged).",
    arguments: [nameArgument, .init(name: "new-name", help: "The new name.")])

  static func run(_ context: Context) throws {
    let (name, newName) = (context.arguments.positionals[0], context.arguments.positionals[1])
    try Names.validateAgentName(newName)
    _ = try context.store.read().document.agent(named: name)
    try context.store.update(credential: context.credential) { document, _ in
      try document.renameAgent(name, to: newName)
    }
    Console.err("vault: renamed agent key \(name) to \(newName)\n")
  }
}

enum AgentKeyRotateCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key rotate", summary: "Issue a new token for an agent key; the old one stops now or after --grace.",
    arguments: [nameArgument],
    options: [
      .init(
        name: "grace", value: "<duration>",
        help: "Let the old token work this much longer, e.g. 24h (default: 0, stop now)."),
      .init(name: "expires", value: "<duration>", help: "A new lifetime from now (default: keep the current expiry)."),
      outOption, jsonOption,
    ])

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    let grace = try AgentKeyCommands.lifetime(context.arguments.value("grace")) ?? 0
    let lifetime = try AgentKeyCommands.lifetime(context.arguments.value("expires"))
    _ = try context.store.read().document.agent(named: name)
    let outFile = try AgentKeyCommands.checkedOutPath(context.arguments.value("out"))
    let (token, agent) = try AgentKeyCommands.issuing(outFile) {
      try context.store.update(credential: context.credential) { document, keyring in
        let token = try document.rotateAgent(name, grace: grace, lifetime: lifetime, keyring: keyring, now: .now())
        return (token, try document.agent(named: name))
      }
    }
    try AgentKeyCommands.deliver(token, agent: agent, outFile: outFile, context: context)
  }
}

enum AgentKeyRevokeCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key revoke",
    summary: "Revoke an agent key now, and re-key every provider key it could read.", arguments: [nameArgument],
    options: [yesOption])

  static func run(_ context: Context) throws {
    try AgentKeyCommands.endAgentKey(
      context, question: "It stops working at once.", verb: ("revoke", "revoked"),
      change: { document, name, keyring in
        try document.revokeAgent(name, keyring: keyring, now: .now())
      })
  }
}

enum AgentKeyRemoveCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key rm", summary: "Delete an agent key's record (revoking it first if needed).",
    arguments: [nameArgument],
    options: [yesOption])

  static func run(_ context: Context) throws {
    try AgentKeyCommands.endAgentKey(
      context, question: "This cannot be undone.", verb: ("delete", "deleted"),
      change: { document, name, keyring in
        try document.removeAgent(name, keyring: keyring, now: .now())
      })
  }
}

enum AgentKeyVerifyCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key verify",
    summary: "Check an agent key token: status, scope and expiry. Needs no passphrase.",
    options: [
      .init(name: "agent-key-file", value: "<file>", help: "Read the token from this file."), jsonOption,
    ],
    discussion: "The token is read from VAULT_AGENT_KEY, else --agent-key-file, else standard input.")

  static func run(_ context: Context) throws {
    let token = try context.agentToken()
    let now = Timestamp.now()
    let session = try context.store.openAgent(token: token, now: now)
    let agent = session.agent
    try session.keyring.checkGrants(keys: try session.grantedKeys())
    let readable = try session.grantedKeys()
    let scopeKeys = try session.keys(agent.scope.keys)
    if context.arguments.flag("json") {
      // A --key scope's key is usually readable too: list each key once.
      let known = readable + scopeKeys.filter { key in !readable.contains { $0.id == key.id } }
      var writer = JSONWriter(escapingUnsafeScalars: true)
      AgentPresentation.json(agent, keys: known, usage: context.store.usage(), now: now, into: &writer)
      writer.raw("\n")
      Console.outBytes(writer.bytes)
      return
    }
    let rows: [(String, String)] = [
      ("Status", agent.status(at: now).label),
      ("Agent key", "\(agent.name) (\(session.keyring.credential.display))"),
      ("Scope", AgentPresentation.scope(agent.scope, keys: scopeKeys)),
      ("Readable", readable.isEmpty ? "-" : readable.map { $0.name }.joined(separator: ", ")),
      (
        "Expires",
        "\(session.keyring.credential.effectiveExpiry.rfc3339) (\(Lifetime.remaining(until: session.keyring.credential.effectiveExpiry, from: now)))"
      ),
    ]
    Console.out(
      rows.map { "\($0.0):" + String(repeating: " ", count: 11 - $0.0.count) + DisplaySafety.sanitized($0.1) + "\n" }
        .joined())
  }
}

/// What the agent-key commands share.
enum AgentKeyCommands {
  static let subcommands: [any Command.Type] = [
    AgentKeyCreateCommand.self, AgentKeyListCommand.self, AgentKeySearchCommand.self, AgentKeyShowCommand.self,
    AgentKeyRenameCommand.self, AgentKeyRotateCommand.self, AgentKeyRevokeCommand.self, AgentKeyRemoveCommand.self,
    AgentKeyVerifyCommand.self, AgentKeyLimitCommand.self,
  ]

  static var overview: String {
    CommandSpec.groupOverview(
      "agent-key", "Agent keys: scoped, expiring tokens that unlock some provider keys without the passphrase.",
      subcommands)
  }

  /// Seconds in a `--expires` / `--grace` value, or nil when absent.
  static func lifetime(_ text: String?) throws -> Int64? {
    guard let text else { return nil }
    guard let seconds = Lifetime.seconds(text) else {
      throw VaultError.invalidInput("invalid duration '\(text)': use e.g. 90d, 12h, 45m or 90s")
    }
    guard seconds <= VaultDocument.maximumAgentLifetime else {
      throw VaultError.invalidInput("a duration is at most 365 days")
    }
    return seconds
  }

  /// `VAULT_USER`, else the name of the effective user. Control characters and the other
  /// scalars `DisplaySafety` calls unsafe become `?`: the name is printed by `agent-key list`.
  static func currentUser(_ environment: [String: String]) -> String {
    if let user = environment["VAULT_USER"].map(DisplaySafety.sanitized), !user.isEmpty, user.utf8.count <= 256 {
      return user
    }
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
      return DisplaySafety.sanitized(String(cString: name))
    }
    return "uid \(geteuid())"
  }

  /// A new, empty `--out` file (mode 0600, never over an existing file or through a symlink),
  /// created before the vault changes, so a path that cannot be written fails with nothing
  /// issued. `deliver` fills it; `issuing` removes it when the vault change fails.
  struct TokenFile {
    let path: String
    let descriptor: Int32
  }

  static func checkedOutPath(_ path: String?) throws -> TokenFile? {
    guard let path else { return nil }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      if errno == EEXIST {
        throw VaultError.invalidInput("\(path) exists already; the token is never written over a file")
      }
      throw VaultError.io("cannot create \(path): \(String(cString: strerror(errno)))")
    }
    return TokenFile(path: path, descriptor: descriptor)
  }

  /// Runs the vault change, removing the unused `--out` file if it fails.
  static func issuing<Result>(_ outFile: TokenFile?, _ change: () throws -> Result) throws -> Result {
    do {
      return try change()
    } catch {
      if let outFile {
        close(outFile.descriptor)
        unlink(outFile.path)
      }
      throw error
    }
  }

  /// Shows the new token exactly once: into the new 0600 file, as JSON, or on standard output.
  static func deliver(_ token: AgentToken, agent: AgentKey, outFile: TokenFile?, context: Context) throws {
    if let outFile {
      let (outPath, descriptor) = (outFile.path, outFile.descriptor)
      defer { close(descriptor) }
      var written = true
      token.text.withUnsafeBytes { bytes in
        written = write(descriptor, bytes.baseAddress, bytes.count) == bytes.count && write(descriptor, "\n", 1) == 1
      }
      guard written, fsync(descriptor) == 0 else {
        throw VaultError.io("cannot write \(outPath); rotate agent key \(agent.name) for a new token")
      }
      Console.err(
        "vault: wrote the token of agent key \(agent.name) to \(outPath) (mode 0600), expires \(agent.expires.rfc3339)\n"
      )
      return
    }
    if context.arguments.flag("json") {
      var writer = JSONWriter(escapingUnsafeScalars: true)
      writer.raw("{\"name\":")
      writer.string(agent.name)
      writer.raw(",\"token\":")
      writer.string(token.text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
      writer.raw(",\"key\":")
      writer.string(token.display)
      writer.raw(",\"expires\":")
      writer.string(agent.expires.rfc3339)
      writer.raw("}\n")
      Console.outBytes(writer.bytes)
      return
    }
    token.text.withUnsafeBytes { Console.outRaw($0) }
    Console.out("\n")
    if Console.stdoutIsTerminal {
      Console.err(
        "vault: this is the only time the token is shown: store it now (agent key \(agent.name), expires \(agent.expires.rfc3339))\n"
      )
    }
  }

  /// `revoke` and `rm`: confirm, change, report, and name the provider keys to rotate.
  static func endAgentKey(
    _ context: Context, question: String, verb: (present: String, past: String),
    change: (inout VaultDocument, String, Keyring) throws -> [String]
  ) throws {
    let name = context.arguments.positionals[0]
    _ = try context.store.read().document.agent(named: name)
    try context.confirm(
      "\(verb.present.prefix(1).uppercased() + verb.present.dropFirst()) agent key \(name)? \(question)",
      refusal: "refusing to \(verb.present) \(name) without confirmation")
    let exposed = try context.store.update(credential: context.credential) { document, keyring in
      try change(&document, name, keyring)
    }
    Console.err("vault: \(verb.past) agent key \(name)\n")
    adviseRotation(exposed)
  }

  static func adviseRotation(_ exposed: [String]) {
    guard !exposed.isEmpty else { return }
    Console.err(
      "vault: it could read \(exposed.joined(separator: ", ")); those values were re-keyed here, but rotate them at the provider if the token may have leaked\n"
    )
  }

  static func printAgents(_ agents: [AgentKey], document: VaultDocument, context: Context) throws {
    let usage = context.store.usage()
    let now = Timestamp.now()
    if context.arguments.flag("json") {
      var writer = JSONWriter(escapingUnsafeScalars: true)
      writer.raw("[")
      for (index, agent) in agents.enumerated() {
        writer.raw(index == 0 ? "\n" : ",\n")
        AgentPresentation.json(agent, keys: document.keys, usage: usage, now: now, into: &writer)
      }
      writer.raw(agents.isEmpty ? "]\n" : "\n]\n")
      Console.outBytes(writer.bytes)
    } else if agents.isEmpty {
      Console.err("vault: no agent keys\n")
    } else {
      Console.out(
        AgentPresentation.table(agents, keys: document.keys, usage: usage, now: now, colour: context.useColour))
    }
  }
}
