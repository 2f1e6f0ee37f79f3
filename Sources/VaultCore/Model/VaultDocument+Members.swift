import VaultCrypto

extension VaultDocument {
  /// The most members a vault holds: each is one line and one X25519 slot to open.
  public static let maximumMembers = 256

  public func memberIndex(of name: String) -> Int? {
    members.firstIndex { $0.name == name }
  }

  /// Adds member `name` with their own copy of the master key.
  public mutating func addMember(
    name: String, recipient: AgeRecipient, role: MemberRole, addedBy: String, keyring: Keyring, now: Timestamp
  ) throws {
    try Names.validateMemberName(name)
    guard memberIndex(of: name) == nil else { throw VaultError.invalidInput("a member named \(name) already exists") }
    if let other = members.first(where: { $0.recipient == recipient.encoded }) {
      throw VaultError.invalidInput("that recipient is already member \(other.name)'s")
    }
    guard members.count < Self.maximumMembers else {
      throw VaultError.invalidInput("a vault has at most \(Self.maximumMembers) members")
    }
    members.append(
      Member(
        name: name, role: role, recipient: recipient.encoded, addedBy: addedBy, added: now,
        slot: try keyring.memberSlot(name: name, recipient: recipient)))
  }

  /// Removes member `name` and re-keys everything they could open: a new master key for the
  /// remaining members and the passphrase slot (`passphrase`, checked against the current
  /// slot first, when there is one), a fresh data key for every provider key, and the owner's
  /// copies of agent slot keys moved to the new master key (grants are made again by the
  /// upkeep). Returns the new keyring and the names of the provider keys the removed member
  /// could read, to rotate at their providers.
  public mutating func removeMember(
    _ name: String, keyring old: Keyring, passphrase: () throws -> SecretBytes?
  ) throws -> (keyring: Keyring, exposed: [String]) {
    guard let index = memberIndex(of: name) else { throw VaultError.invalidInput("no member named \(name)") }
    let removed = members.remove(at: index)
    guard !(header.passphraseSlot == nil && members.isEmpty) else {
      members.insert(removed, at: index)
      throw VaultError.invalidInput(
        "\(name) is the last way into this vault (it has no passphrase); add another member first")
    }
    let new = try old.withFreshMasterKey()
    if let slot = header.passphraseSlot {
      guard let secret = try passphrase() else { throw VaultError.noPassphraseSlot }
      // A mistyped passphrase must not lock everyone out: it has to open the current slot.
      _ = try Keyring.unlock(header: header, kek: try Keyring.deriveKEK(passphrase: secret, kdf: slot.kdf))
      header = try new.rewrap(header, passphrase: secret, logN: slot.kdf.parameters.n.trailingZeroBitCount)
    }
    keys = try keys.map { try new.resealed($0, from: old) }
    for agentIndex in agents.indices {
      let agentID = agents[agentIndex].id
      for position in agents[agentIndex].credentials.indices {
        var credential = try new.resealed(agents[agentIndex].credentials[position], agentID: agentID, from: old)
        credential.grants = []
        agents[agentIndex].credentials[position] = credential
      }
    }
    for memberIndex in members.indices {
      let member = members[memberIndex]
      members[memberIndex].slot = try new.memberSlot(
        name: member.name, recipient: try AgeRecipient(parsing: member.recipient))
    }
    return (new, keys.map(\.name))
  }
}
