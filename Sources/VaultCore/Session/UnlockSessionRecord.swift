import VaultCrypto

/// What an unlock session holds (`vault unlock`): one vault's master key, the binding that ties
/// it to the passphrase slot it was opened with, and when the session ends. Held by the kernel
/// keyring or by the unlock agent, never written to a file (docs/SECURITY.md, "Unlock sessions").
///
/// The binding is a digest of the header's wrapped master key. `vault passwd` re-wraps the
/// master key under a fresh salt and nonce, so a changed passphrase ends every session of that
/// vault, in every login session, without having to reach them: their binding no longer matches.
public struct UnlockSessionRecord: Sendable {
  /// Identifies the encoding; a record of another layout is ignored, not misread.
  static let magic: [UInt8] = Array("LVS1".utf8)
  public static let encodedByteCount = 4 + 16 + 32 + 8 + 32

  /// Sessions last 15 minutes unless `--for` says otherwise, and never more than a day.
  public static let defaultLifetime: Int64 = 15 * 60
  public static let maximumLifetime: Int64 = 24 * 3_600

  public let vaultID: [UInt8]
  let binding: [UInt8]
  public let expires: Timestamp
  let masterKey: SecretBytes

  /// The digest a session opened through `slot` (the passphrase's sealed master key, or a
  /// member's age slot) carries.
  static func binding(vaultID: [UInt8], slot: [UInt8]) -> [UInt8] {
    SHA256.hash(Array("llm-vault unlock session v1".utf8) + vaultID + slot)
  }

  /// What this record may do with the file whose header and members are given at `now`: the
  /// access of the slot it was opened through, or nil when it does not fit (another vault, a
  /// slot re-wrapped since: a new passphrase, a member removed; or expired).
  public func access(_ header: VaultHeader, members: [Member], now: Timestamp = .now()) -> VaultAccess? {
    guard constantTimeEquals(vaultID, header.id), now < expires else { return nil }
    if let slot = header.passphraseSlot,
      constantTimeEquals(binding, Self.binding(vaultID: header.id, slot: slot.sealedMasterKey))
    {
      return .passphrase
    }
    for member in members where constantTimeEquals(binding, Self.binding(vaultID: header.id, slot: member.slot)) {
      return .member(name: member.name, role: member.role)
    }
    return nil
  }

  /// The bytes handed to the kernel keyring or the agent.
  public func encoded() -> SecretBytes {
    SecretBytes(count: Self.encodedByteCount) { buffer in
      var offset = 0
      func put(_ bytes: some Collection<UInt8>) {
        for byte in bytes {
          buffer[offset] = byte
          offset += 1
        }
      }
      put(Self.magic)
      put(vaultID)
      put(binding)
      put((0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: expires.secondsSinceEpoch) >> (56 - 8 * $0)) })
      masterKey.withUnsafeBytes { put($0) }
    }
  }

  /// A record read back from a session store; nil for anything not of this layout.
  public static func decode(_ encoded: SecretBytes) -> UnlockSessionRecord? {
    encoded.withUnsafeBytes { bytes -> UnlockSessionRecord? in
      guard bytes.count == encodedByteCount, bytes.prefix(4).elementsEqual(magic) else { return nil }
      let seconds = bytes[52..<60].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      return UnlockSessionRecord(
        vaultID: Array(bytes[4..<20]), binding: Array(bytes[20..<52]),
        expires: Timestamp(secondsSinceEpoch: Int64(bitPattern: seconds)),
        masterKey: SecretBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[60..<92])))
    }
  }
}

extension Keyring {
  /// A session record of this keyring's master key, bound to the slot `access` names in
  /// `document` (the one this keyring was opened through).
  public func sessionRecord(for document: VaultDocument, access: VaultAccess, expires: Timestamp) throws
    -> UnlockSessionRecord
  {
    let slot: [UInt8]
    switch access {
    case .passphrase:
      guard let passphraseSlot = document.header.passphraseSlot else { throw VaultError.noPassphraseSlot }
      slot = passphraseSlot.sealedMasterKey
    case .member(let name, _):
      guard let member = document.members.first(where: { $0.name == name }) else {
        throw VaultError.invalidInput("no member named \(name)")
      }
      slot = member.slot
    }
    return UnlockSessionRecord(
      vaultID: vaultID, binding: UnlockSessionRecord.binding(vaultID: vaultID, slot: slot), expires: expires,
      masterKey: masterKey)
  }
}
