import VaultCore

/// `vault member add|list|rm`: who can open a team vault with their own identity.
enum MemberCommands {
  static let subcommands: [any Command.Type] = [
    MemberAddCommand.self, MemberListCommand.self, MemberRemoveCommand.self,
  ]

  static var overview: String {
    CommandSpec.groupOverview(
      "member", "Members: people and systems that open the vault with their own age identity.", subcommands)
  }
}

enum MemberAddCommand: Command {
  static let spec = CommandSpec(
    name: "member add", summary: "Add a member who opens the vault with their own identity.",
    arguments: [
      .init(name: "name", help: "The member's name: up to 64 letters, digits, '.', '_' or '-'."),
      .init(name: "recipient", help: "Their age recipient (age1...), from 'vault identity new' or age-keygen."),
    ],
    options: [.init(name: "role", value: "<role>", help: "owner (everything) or reader (reads only). Default: owner.")],
    discussion: """
      Needs the master key: the passphrase, an owner's identity or an unlock session. The new
      member gets their own copy of the master key, encrypted to their recipient the way age
      encrypts a file. Roles are a guard rail, not a boundary: docs/SECURITY.md, "Members".
      """)

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    try Names.validateMemberName(name)
    let recipient: AgeRecipient
    do {
      recipient = try AgeRecipient(parsing: context.arguments.positionals[1])
    } catch {
      throw VaultError.invalidInput(
        "'\(DisplaySafety.sanitized(context.arguments.positionals[1]))' is not an age recipient (age1...)")
    }
    let roleText = context.arguments.value("role") ?? MemberRole.owner.rawValue
    guard let role = MemberRole(rawValue: roleText) else {
      throw VaultError.invalidInput("--role must be owner or reader, not '\(DisplaySafety.sanitized(roleText))'")
    }
    let addedBy = AgentKeyCommands.currentUser(context.environment)
    try context.store.update(credential: context.credential) { document, keyring in
      try document.addMember(
        name: name, recipient: recipient, role: role, addedBy: addedBy, keyring: keyring, now: .now())
    }
    Console.err("vault: added member \(name) (\(role.rawValue)); they open the vault with their identity\n")
  }
}

enum MemberListCommand: Command {
  static let spec = CommandSpec(
    name: "member list", summary: "List the members. Needs no passphrase.",
    options: [.init(name: "json", help: "Print JSON for scripts.")])

  static func run(_ context: Context) throws {
    let members = try context.store.read().document.members
    if context.arguments.flag("json") {
      var writer = JSONWriter(escapingUnsafeScalars: true)
      writer.raw("[")
      for (index, member) in members.enumerated() {
        writer.raw(index == 0 ? "\n{\"name\":" : ",\n{\"name\":")
        writer.string(member.name)
        writer.raw(",\"role\":")
        writer.string(member.role.rawValue)
        writer.raw(",\"recipient\":")
        writer.string(member.recipient)
        writer.raw(",\"addedBy\":")
        writer.string(member.addedBy)
        writer.raw(",\"added\":")
        writer.string(member.added.rfc3339)
        writer.raw("}")
      }
      writer.raw(members.isEmpty ? "]\n" : "\n]\n")
      Console.outBytes(writer.bytes)
      return
    }
    guard !members.isEmpty else {
      Console.err("vault: no members: only the passphrase opens this vault ('vault member add' adds one)\n")
      return
    }
    Console.out(
      Table.render(
        header: ["NAME", "ROLE", "RECIPIENT", "ADDED BY", "ADDED"],
        rows: members.map { [$0.name, $0.role.rawValue, $0.shortRecipient, $0.addedBy, $0.added.day] },
        colour: context.useColour))
  }
}

enum MemberRemoveCommand: Command {
  static let spec = CommandSpec(
    name: "member rm", summary: "Remove a member and re-key everything they could open.",
    arguments: [.init(name: "name", help: "The member's name.")],
    options: [.init(name: "yes", help: "Do not ask for confirmation (needed without a terminal).")],
    discussion: """
      Draws a new master key for the remaining members (and the passphrase, which is asked for
      when the vault has one and you opened it otherwise) and a fresh data key for every provider
      key, and revokes every live agent key (the removed member could derive its slot key): the
      removed identity opens nothing written from now on. Issue agent keys again afterwards. Older commits keep what they held: rotate the listed provider keys at their
      providers, since a removed member may have kept the values.
      """)

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    try Names.validateMemberName(name)
    guard try context.store.read().document.memberIndex(of: name) != nil else {
      throw VaultError.invalidInput("no member named \(name)")
    }
    try context.confirm(
      "Remove member \(name)? The vault is re-keyed; their identity opens nothing written from now on.",
      refusal: "refusing to remove \(name) without confirmation")
    let (exposed, revoked) = try context.store.updateRekeying(credential: context.credential) {
      document, keyring, passphrase in
      let (rekeyed, exposed, revoked) = try document.removeMember(name, keyring: keyring, passphrase: passphrase)
      return ((exposed, revoked), rekeyed)
    }
    Console.err("vault: removed member \(name); the master key and every data key are new\n")
    if !revoked.isEmpty {
      Console.err(
        "vault: revoked agent keys \(revoked.joined(separator: ", ")): \(name) could derive their slot keys; issue new ones with 'vault agent-key create'\n"
      )
    }
    if !exposed.isEmpty {
      Console.err(
        "vault: \(name) could read \(exposed.joined(separator: ", ")); rotate them at their providers (git history keeps the old file)\n"
      )
    }
  }
}
