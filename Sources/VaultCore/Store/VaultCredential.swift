import VaultCrypto

/// An identity offered to open team vaults, with where it came from (for messages).
public struct OfferedIdentity: Sendable {
  public var identity: AgeIdentity
  /// E.g. `~/.config/llm-vault/identity`; never the key itself.
  public var source: String

  public init(identity: AgeIdentity, source: String) {
    self.identity = identity
    self.source = source
  }

  /// `source (age1abc…wxyz)`, for "none of the identities tried is a member".
  var described: String {
    let recipient = identity.recipient.encoded
    return "\(source) (\(recipient.prefix(9))…\(recipient.suffix(4)))"
  }
}

/// What opens a vault's master key, tried in this order: the record of an unlock session
/// held for this very file, a member's identity (team vaults only), the passphrase. The
/// session is asked first so that a command in an unlocked login session neither prompts nor
/// runs scrypt.
public struct VaultCredential {
  /// The unlock session's record for the vault whose id is given, or nil when there is none.
  public var session: ((VaultHeader) -> UnlockSessionRecord?)?
  /// The identities to try on a team vault's members; read only when the vault has members.
  public var identities: (() throws -> [OfferedIdentity])?
  public var passphrase: () throws -> SecretBytes
  /// Whether `passphrase` may ask a person (a prompt at the terminal). Then a write checks every
  /// record of the file before it is called, so a damaged file never has anyone type a
  /// passphrase; when false (a passphrase file or variable), the records are checked while the
  /// passphrase is stretched, and damage is still reported first.
  public var mayAskAPerson: Bool

  public init(
    session: ((VaultHeader) -> UnlockSessionRecord?)? = nil, identities: (() throws -> [OfferedIdentity])? = nil,
    mayAskAPerson: Bool = true, passphrase: @escaping () throws -> SecretBytes
  ) {
    self.session = session
    self.identities = identities
    self.mayAskAPerson = mayAskAPerson
    self.passphrase = passphrase
  }

  /// The passphrase alone: for commands that must prove it (`unlock`, `passwd`).
  public static func passphrase(_ read: @escaping () throws -> SecretBytes) -> VaultCredential {
    VaultCredential(passphrase: read)
  }
}

/// Which of a file's ways in opened it, and so what the opener may do.
public enum VaultAccess: Equatable, Sendable {
  case passphrase
  case member(name: String, role: MemberRole)

  /// Readers read; everything that writes needs an owner (or the passphrase).
  public var mayWrite: Bool {
    if case .member(_, .reader) = self { return false }
    return true
  }
}

/// A credential turned into what opens one file: the session's record, a member's keyring
/// opened with an identity, or the passphrase stretched with that header's scrypt settings.
enum HeaderOpener {
  case session(UnlockSessionRecord, VaultAccess)
  case member(Keyring, Member)
  case passphrase(SecretBytes, kdf: KDFSettings, kek: SecretBytes)

  init(_ credential: VaultCredential, header: VaultHeader, members: [Member]) throws {
    if let record = credential.session?(header), let access = record.access(header, members: members) {
      self = .session(record, access)
      return
    }
    var tried: [String] = []
    if !members.isEmpty, let identities = try credential.identities?() {
      for offered in identities {
        let recipient = offered.identity.recipient.encoded
        if let member = members.first(where: { $0.recipient == recipient }) {
          self = .member(try Keyring.unlock(header: header, member: member, identity: offered.identity), member)
          return
        }
        tried.append(offered.described)
      }
    }
    guard let slot = header.passphraseSlot else {
      throw tried.isEmpty ? VaultError.noPassphraseSlot : VaultError.notAMember(tried: tried)
    }
    let secret: SecretBytes
    do {
      secret = try credential.passphrase()
    } catch VaultError.passphraseUnavailable where !tried.isEmpty {
      // Identities were the way in the user meant; say why none worked.
      throw VaultError.notAMember(tried: tried)
    }
    self = .passphrase(secret, kdf: slot.kdf, kek: try Keyring.deriveKEK(passphrase: secret, kdf: slot.kdf))
  }

  var access: VaultAccess {
    switch self {
    case .session(_, let access): return access
    case .member(_, let member): return .member(name: member.name, role: member.role)
    case .passphrase: return .passphrase
    }
  }

  /// This opener made fit for the same vault read again under the write lock: a session or a
  /// member slot that no longer matches (another process changed the passphrase or the
  /// members meanwhile) starts over, and a passphrase is stretched again when the salt changed.
  func refreshed(for header: VaultHeader, members: [Member], _ credential: VaultCredential) throws -> HeaderOpener {
    switch self {
    case .session(let record, _):
      return record.access(header, members: members) != nil
        ? self
        : try HeaderOpener(
          VaultCredential(identities: credential.identities, passphrase: credential.passphrase), header: header,
          members: members)
    case .member(_, let member):
      return members.contains(member) ? self : try HeaderOpener(credential, header: header, members: members)
    case .passphrase(let secret, let kdf, _):
      guard let slot = header.passphraseSlot else { throw VaultError.noPassphraseSlot }
      guard slot.kdf != kdf else { return self }
      return .passphrase(secret, kdf: slot.kdf, kek: try Keyring.deriveKEK(passphrase: secret, kdf: slot.kdf))
    }
  }

  func keyring(for header: VaultHeader) throws -> Keyring {
    switch self {
    case .session(let record, _): return try Keyring.unlock(header: header, session: record)
    case .member(let keyring, _): return keyring
    case .passphrase(_, _, let kek): return try Keyring.unlock(header: header, kek: kek)
    }
  }

  /// The passphrase this opener holds, if it was the passphrase (re-keying re-wraps with it).
  var passphrase: SecretBytes? {
    if case .passphrase(let secret, _, _) = self { return secret }
    return nil
  }
}
