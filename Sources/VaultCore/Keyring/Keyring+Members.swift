import VaultCrypto

extension Keyring {
  /// A member's slot: an age file (one X25519 stanza, the way age wraps a file key) whose
  /// plaintext is the binding `llm-vault/v3/member|VID|NAME\n` followed by the master key.
  /// `age -d -i IDENTITY` opens it like any age file (docs/FORMAT.md, "Members").
  public func memberSlot(name: String, recipient: AgeRecipient) throws -> [UInt8] {
    let binding = CryptoContext.memberSlot(vaultID: vaultIDHex, name: name)
    let plaintext = SecretBytes(count: binding.count + masterKey.count) { buffer in
      buffer.copyBytes(from: binding)
      masterKey.withUnsafeBytes { key in
        UnsafeMutableRawBufferPointer(rebasing: buffer[binding.count...]).copyMemory(from: key)
      }
    }
    return try AgeFile.encrypt(plaintext, to: [recipient])
  }

  /// Opens `member`'s slot with `identity`, whose recipient is the member's. Any failure past
  /// the recipient match means the slot was edited (or belongs elsewhere): integrity, never
  /// "not a member".
  static func unlock(header: VaultHeader, member: Member, identity: AgeIdentity) throws -> Keyring {
    let binding = CryptoContext.memberSlot(vaultID: header.idHex, name: member.name)
    let plaintext: SecretBytes
    do {
      plaintext = try AgeFile.decrypt(member.slot, identities: [identity])
    } catch let error as AgeError {
      throw VaultError.integrity("member \(member.name)'s slot does not open: \(error.message)")
    }
    let masterKey = try plaintext.withUnsafeBytes { bytes -> SecretBytes in
      guard bytes.count == binding.count + 32, constantTimeEquals(Array(bytes.prefix(binding.count)), binding) else {
        throw VaultError.integrity("member \(member.name)'s slot is not bound to this vault and name")
      }
      return SecretBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[binding.count...]))
    }
    return try Keyring(vaultID: header.id, masterKey: masterKey)
  }

  /// A new master key for this vault (same id), for re-keying when a member is removed.
  public func withFreshMasterKey() throws -> Keyring {
    try Keyring(vaultID: vaultID, masterKey: try SecureRandom.secret(count: 32))
  }
}

extension Keyring {
  /// `key` moved from the vault whose master key `old` holds to this one: its value sealed
  /// under a fresh data key under this master key.
  func resealed(_ key: ProviderKey, from old: Keyring) throws -> ProviderKey {
    let value = try old.open(key)
    let sealed = try seal(value: value, id: key.id, name: key.name)
    var moved = key
    moved.sealedDataKey = sealed.sealedDataKey
    moved.sealedValue = sealed.sealedValue
    return moved
  }
}
