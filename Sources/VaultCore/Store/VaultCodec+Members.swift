import VaultCrypto

/// The `members` section of format version 3 (docs/FORMAT.md, "Members").
extension VaultCodec {
  static let memberNames = ["name", "role", "recipient", "addedBy", "added", "slot"]
  /// An X25519 slot is about 300 bytes; a line far beyond that is not one vault wrote.
  static let maximumSlotByteCount = 2_048

  static func writeMember(_ member: Member, to writer: inout JSONWriter) {
    writer.raw("{\"name\":")
    writer.string(member.name)
    writer.raw(",\"role\":")
    writer.string(member.role.rawValue)
    writer.raw(",\"recipient\":")
    writer.string(member.recipient)
    writer.raw(",\"addedBy\":")
    writer.string(member.addedBy)
    writer.raw(",\"added\":")
    writer.timestamp(member.added)
    writer.raw(",\"slot\":")
    writer.base64(member.slot)
    writer.raw("}")
  }

  /// The members of the file whose header is `header`; a file that then has neither a
  /// passphrase slot nor a member is damage, since nothing could open it.
  static func decodeMembers(_ bytes: [UInt8], _ layout: VaultFileLayout, of header: VaultHeader) throws -> [Member] {
    var members: [Member] = []
    var names = Set<String>()
    var recipients = Set<String>()
    guard layout.memberLines.count <= VaultDocument.maximumMembers else {
      throw VaultError.integrity("more than \(VaultDocument.maximumMembers) members")
    }
    for (index, range) in layout.memberLines.enumerated() {
      let member = try decodeMember(bytes, range, index: index)
      guard names.insert(member.name).inserted else {
        throw VaultError.integrity("member \(member.name) appears twice")
      }
      guard recipients.insert(member.recipient).inserted else {
        throw VaultError.integrity("members[\(index)] repeats another member's recipient")
      }
      members.append(member)
    }
    guard header.passphraseSlot != nil || !members.isEmpty else {
      throw VaultError.integrity("the vault has neither a passphrase nor a member: nothing opens it")
    }
    return members
  }

  static func decodeMember(_ bytes: [UInt8], _ range: Range<Int>, index: Int) throws -> Member {
    let place = "members[\(index)]"
    let object = try object(bytes, range, place)
    try expectNames(object, memberNames, in: place)
    guard case .string(let name)? = object["name"], Names.isAgentName(name) else {
      throw VaultError.integrity("\(place).name is not a valid member name")
    }
    guard case .string(let roleText)? = object["role"], let role = MemberRole(rawValue: roleText) else {
      throw VaultError.integrity("\(place).role is not owner or reader")
    }
    guard case .string(let recipient)? = object["recipient"],
      (try? AgeRecipient(parsing: recipient))?.encoded == recipient
    else {
      throw VaultError.integrity("\(place).recipient is not an age X25519 recipient (age1...)")
    }
    let addedBy = try userName(object["addedBy"], "\(place).addedBy")
    let added = try timestamp(object["added"], "\(place).added")
    let slot = try base64(object["slot"], "\(place).slot")
    guard !slot.isEmpty, slot.count <= maximumSlotByteCount else {
      throw VaultError.integrity("\(place).slot is not an age file of a size vault writes")
    }
    let member = Member(name: name, role: role, recipient: recipient, addedBy: addedBy, added: added, slot: slot)
    var canonical = JSONWriter(reservingCapacity: range.count)
    writeMember(member, to: &canonical)
    guard canonical.bytes.elementsEqual(bytes[range]) else {
      throw VaultError.integrity("\(place) is not in the canonical form (spacing or string escapes)")
    }
    return member
  }
}
