import VaultCrypto

/// What opens a vault's master key: the record of an unlock session when one is held for this
/// very file (its vault id and passphrase slot), else the passphrase. The session is asked
/// first so that a command in an unlocked login session neither prompts nor runs scrypt.
public struct VaultCredential {
  /// The unlock session's record for the file whose header is given, or nil when there is none.
  public var session: ((VaultHeader) -> UnlockSessionRecord?)?
  public var passphrase: () throws -> SecretBytes

  public init(
    session: ((VaultHeader) -> UnlockSessionRecord?)? = nil, passphrase: @escaping () throws -> SecretBytes
  ) {
    self.session = session
    self.passphrase = passphrase
  }

  /// The passphrase alone: for commands that must prove it (`unlock`, `passwd`).
  public static func passphrase(_ read: @escaping () throws -> SecretBytes) -> VaultCredential {
    VaultCredential(passphrase: read)
  }

  /// The session record for `header`, when it is there and still opens this file.
  func sessionRecord(for header: VaultHeader) -> UnlockSessionRecord? {
    guard let record = session?(header), record.opens(header) else { return nil }
    return record
  }
}

/// A credential turned into what opens one header: the session's record, or the passphrase
/// stretched with that header's scrypt settings.
enum HeaderOpener {
  case session(UnlockSessionRecord)
  case passphrase(SecretBytes, kdf: KDFSettings, kek: SecretBytes)

  init(_ credential: VaultCredential, header: VaultHeader) throws {
    if let record = credential.sessionRecord(for: header) {
      self = .session(record)
    } else {
      let secret = try credential.passphrase()
      self = .passphrase(secret, kdf: header.kdf, kek: try Keyring.deriveKEK(passphrase: secret, kdf: header.kdf))
    }
  }

  /// This opener made fit for `header`, read again under the write lock: a session that no
  /// longer matches (another process changed the passphrase meanwhile) falls back to the
  /// passphrase, and a passphrase is stretched again when the salt changed.
  func refreshed(for header: VaultHeader, _ credential: VaultCredential) throws -> HeaderOpener {
    switch self {
    case .session(let record):
      return record.opens(header) ? self : try HeaderOpener(.passphrase(credential.passphrase), header: header)
    case .passphrase(let secret, let kdf, _):
      guard header.kdf != kdf else { return self }
      return .passphrase(secret, kdf: header.kdf, kek: try Keyring.deriveKEK(passphrase: secret, kdf: header.kdf))
    }
  }

  func keyring(for header: VaultHeader) throws -> Keyring {
    switch self {
    case .session(let record): return try Keyring.unlock(header: header, session: record)
    case .passphrase(_, _, let kek): return try Keyring.unlock(header: header, kek: kek)
    }
  }
}
