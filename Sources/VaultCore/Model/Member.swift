/// What a member may do. Both roles hold the same master key, so a role is a guard rail
/// against mistakes, not a security boundary (docs/SECURITY.md, "Members").
public enum MemberRole: String, Sendable, CaseIterable {
  /// Everything an owner with the passphrase can do, members included.
  case owner
  /// Reads only: `get`, `run`, `env`, `inject`, listing; no write of any kind.
  case reader
}

/// A member of a team vault: a person or a CI system with an age X25519 identity of their
/// own, and their copy of the master key wrapped to it (docs/FORMAT.md, "Members").
public struct Member: Equatable, Sendable {
  /// `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 characters, unique in the file.
  public var name: String
  public var role: MemberRole
  /// The age recipient (`age1...`, lowercase bech32) the slot is encrypted to.
  public var recipient: String
  /// The OS user (or member) who added it, as agent keys record `createdBy`.
  public var addedBy: String
  public var added: Timestamp
  /// An age file (binary, one X25519 stanza) whose plaintext binds the vault id and this
  /// name to the master key.
  public var slot: [UInt8]

  public init(name: String, role: MemberRole, recipient: String, addedBy: String, added: Timestamp, slot: [UInt8]) {
    self.name = name
    self.role = role
    self.recipient = recipient
    self.addedBy = addedBy
    self.added = added
    self.slot = slot
  }

  /// The recipient shortened for tables: `age1qyqs…x7e0`.
  public var shortRecipient: String {
    recipient.count <= 16 ? recipient : String(recipient.prefix(9)) + "…" + String(recipient.suffix(4))
  }
}
