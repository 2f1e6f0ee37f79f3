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
  /// slot first, when there is one) and a fresh data key for every provider key. Every live
  /// agent key is revoked: its slot key was sealed under the old master key, which the removed
  /// member holds (git history keeps it), and the slot key cannot change without the token, so
  /// its grants would stay open to them. Returns the new keyring, the provider keys the removed
  /// member could read (to rotate at their providers) and the agent keys revoked (to issue
  /// again).
  public mutating func removeMember(
    _ name: String, keyring old: Keyring, passphrase: () throws -> SecretBytes?, now: Timestamp = .now()
  ) throws -> (keyring: Keyring, exposed: [String], revokedAgents: [String]) {
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
    var revokedAgents: [String] = []
    for agentIndex in agents.indices {
      let live =
        agents[agentIndex].revoked == nil
        && agents[agentIndex].credentials.contains { $0.isLive && now < $0.effectiveExpiry }
      if live {
        agents[agentIndex].revoked = now
        revokedAgents.append(agents[agentIndex].name)
      }
      // Purged here, not by the upkeep: the upkeep would re-key with the new keyring what the
      // old master key sealed. Every data key is fresh anyway.
      for position in agents[agentIndex].credentials.indices {
        agents[agentIndex].credentials[position].slot = nil
        agents[agentIndex].credentials[position].sealedSlotKeyForOwner = nil
        agents[agentIndex].credentials[position].grants = []
      }
    }
    for memberIndex in members.indices {
      let member = members[memberIndex]
      members[memberIndex].slot = try new.memberSlot(
        name: member.name, recipient: try AgeRecipient(parsing: member.recipient))
    }
    return (new, keys.map(\.name), revokedAgents)
  }
}
