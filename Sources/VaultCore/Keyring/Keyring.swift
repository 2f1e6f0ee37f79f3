import VaultCrypto

/// An unlocked vault's keys: the master key and the MAC key derived from it. Only code that
/// holds a `Keyring` can read a value or write a file that verifies.
public final class Keyring: Sendable {
  public let vaultID: [UInt8]
  let vaultIDHex: String
  let masterKey: SecretBytes
  private let macKey: SecretBytes

  init(vaultID: [UInt8], masterKey: SecretBytes) throws {
    self.vaultID = vaultID
    self.vaultIDHex = Hex.encode(vaultID)
    self.masterKey = masterKey
    // The MAC key is derived, not stored: one secret to wrap, and HKDF's info keeps the two
    // uses of the master key apart.
    self.macKey = try HKDF.deriveKey(
      inputKeyMaterial: masterKey, salt: vaultID, info: CryptoContext.fileMACInfo, length: 32)
  }

  /// Stretches `passphrase` with the vault's scrypt settings into the key-encryption key.
  public static func deriveKEK(passphrase: SecretBytes, kdf: KDFSettings) throws -> SecretBytes {
    do {
      return try Scrypt.deriveKey(password: passphrase, salt: kdf.salt, parameters: kdf.parameters, length: 32)
    } catch VaultCryptoError.outOfMemory(let byteCount) {
      let exponent = kdf.parameters.n.trailingZeroBitCount
      throw VaultError.outOfMemory(
        "scrypt could not get the \((byteCount + (1 << 19)) >> 20) MiB of memory this vault's settings need (N=2^\(exponent), r=\(kdf.parameters.r))"
      )
    }
  }

  /// A new vault: a random id and master key, wrapped under a key stretched from `passphrase`.
  public static func create(passphrase: SecretBytes, logN: Int, now: Timestamp) throws -> (Keyring, VaultHeader) {
    let id = try SecureRandom.bytes(count: 16)
    let masterKey = try SecureRandom.secret(count: 32)
    let kdf = KDFSettings(
      salt: try SecureRandom.bytes(count: 32), parameters: Scrypt.Parameters(n: 1 << UInt64(logN), r: 8, p: 1))
    let kek = try deriveKEK(passphrase: passphrase, kdf: kdf)
    let sealed = try masterKey.withUnsafeBytes {
      try AESGCM.seal($0, key: kek, associatedData: CryptoContext.masterKey(vaultID: Hex.encode(id)))
    }
    let header = VaultHeader(
      id: id, created: now, generation: 0, passphraseSlot: PassphraseSlot(kdf: kdf, sealedMasterKey: sealed))
    return (try Keyring(vaultID: id, masterKey: masterKey), header)
  }

  /// A new team vault with no passphrase slot: only its members' identities will open it.
  public static func createForMembers(now: Timestamp) throws -> (Keyring, VaultHeader) {
    let id = try SecureRandom.bytes(count: 16)
    let header = VaultHeader(id: id, created: now, generation: 0, passphraseSlot: nil)
    return (try Keyring(vaultID: id, masterKey: try SecureRandom.secret(count: 32)), header)
  }

  /// Opens the master key with an already derived KEK; a tag failure means a wrong passphrase,
  /// because the header's checksum has already ruled out a damaged file.
  public static func unlock(header: VaultHeader, kek: SecretBytes) throws -> Keyring {
    guard let slot = header.passphraseSlot else { throw VaultError.noPassphraseSlot }
    do {
      let masterKey = try AESGCM.open(
        slot.sealedMasterKey, key: kek, associatedData: CryptoContext.masterKey(vaultID: header.idHex))
      guard masterKey.count == 32 else { throw VaultError.integrity("the master key has the wrong length") }
      return try Keyring(vaultID: header.id, masterKey: masterKey)
    } catch VaultCryptoError.authenticationFailure {
      throw VaultError.wrongPassphrase
    }
  }

  /// Opens the master key an unlock session holds for this file. The caller checks the whole
  /// file's MAC with the result before trusting anything in it (VaultStore does).
  static func unlock(header: VaultHeader, session: UnlockSessionRecord) throws -> Keyring {
    try Keyring(vaultID: header.id, masterKey: session.masterKey)
  }

  /// The header re-wrapped under a new passphrase: fresh salt, same master key, so no record
  /// changes (`vault passwd`).
  public func rewrap(_ header: VaultHeader, passphrase: SecretBytes, logN: Int) throws -> VaultHeader {
    var updated = header
    let kdf = KDFSettings(
      salt: try SecureRandom.bytes(count: 32), parameters: Scrypt.Parameters(n: 1 << UInt64(logN), r: 8, p: 1))
    let kek = try Self.deriveKEK(passphrase: passphrase, kdf: kdf)
    let sealed = try masterKey.withUnsafeBytes {
      try AESGCM.seal($0, key: kek, associatedData: CryptoContext.masterKey(vaultID: vaultIDHex))
    }
    updated.passphraseSlot = PassphraseSlot(kdf: kdf, sealedMasterKey: sealed)
    return updated
  }

  /// Seals `value` for record `id` named `name` under a fresh data key.
  public func seal(value: SecretBytes, id: RecordID, name: String) throws -> (
    sealedDataKey: [UInt8], sealedValue: [UInt8]
  ) {
    let dataKey = try SecureRandom.secret(count: 32)
    let sealedDataKey = try dataKey.withUnsafeBytes {
      try AESGCM.seal($0, key: masterKey, associatedData: CryptoContext.dataKey(vaultID: vaultIDHex, recordID: id))
    }
    let sealedValue = try value.withUnsafeBytes {
      try AESGCM.seal(
        $0, key: dataKey, associatedData: CryptoContext.value(vaultID: vaultIDHex, recordID: id, name: name))
    }
    return (sealedDataKey, sealedValue)
  }

  /// The data key of `key`.
  func dataKey(of key: ProviderKey) throws -> SecretBytes {
    try integrityChecked(key) {
      try AESGCM.open(
        key.sealedDataKey, key: masterKey, associatedData: CryptoContext.dataKey(vaultID: vaultIDHex, recordID: key.id))
    }
  }

  /// The plaintext value of `key`: a batch of one (two cipher contexts, as two single opens
  /// made).
  public func open(_ key: ProviderKey) throws -> SecretBytes {
    try open([key])[0]
  }

  /// The plaintext values of `keys`, in order, as `open(_:)` gives each: per run, one cipher
  /// context for the data keys, all under the master key (set once for the run), one for the
  /// values, and one buffer for the associated data, instead of a context and a string per box
  /// (`vault run` with the passphrase opens two boxes per key). A large batch runs in two
  /// halves at once (`BatchOpening`).
  public func open(_ keys: [ProviderKey]) throws -> [SecretBytes] {
    try open(keys, splittingFrom: BatchOpening.threshold)
  }

  /// `open(_:)`, split in two halves from `threshold` keys (tests split small batches).
  func open(_ keys: [ProviderKey], splittingFrom threshold: Int) throws -> [SecretBytes] {
    try BatchOpening.open(keys, threshold: threshold) { [self] run in try open(run: run) }
  }

  private func open(run keys: ArraySlice<ProviderKey>) throws -> [SecretBytes] {
    let dataKeyOpener = try AESGCM.Opener()
    let valueOpener = try AESGCM.Opener()
    var contexts = CryptoContext.KeyContexts(vaultID: vaultIDHex)
    var values: [SecretBytes] = []
    values.reserveCapacity(keys.count)
    for key in keys {
      values.append(
        try integrityChecked(key) {
          let dataKey = try contexts.dataKey(recordID: key.id) {
            try dataKeyOpener.open(key.sealedDataKey, key: masterKey, associatedData: $0)
          }
          return try contexts.value(recordID: key.id, name: key.name) {
            try valueOpener.open(key.sealedValue, key: dataKey, associatedData: $0)
          }
        })
    }
    return values
  }

  /// `key` with its value sealed again under its own data key for a new name: the name is bound
  /// into the value's associated data, so a rename re-encrypts (`vault edit --name`).
  public func renamed(_ key: ProviderKey, to name: String) throws -> ProviderKey {
    let value = try open(key)
    let dataKey = try dataKey(of: key)
    var renamed = key
    renamed.name = name
    renamed.sealedValue = try value.withUnsafeBytes {
      try AESGCM.seal(
        $0, key: dataKey, associatedData: CryptoContext.value(vaultID: vaultIDHex, recordID: key.id, name: name))
    }
    return renamed
  }

  /// Whether `other` holds the same master key for the same vault. Compared through the MAC
  /// keys (HKDF of the master key), so no secret byte is copied out of its buffer.
  public func hasSameMasterKey(as other: Keyring) -> Bool {
    guard vaultID == other.vaultID else { return false }
    let probe = Array("llm-vault/merge/same-master-key".utf8)
    return probe.withUnsafeBytes { constantTimeEquals(authenticationCode($0), other.authenticationCode($0)) }
  }

  /// HMAC-SHA256 under the file's MAC key (of the file's checksum).
  public func authenticationCode(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    HMACSHA256.authenticationCode(key: macKey, message: bytes)
  }

  private func integrityChecked<Result>(_ key: ProviderKey, _ body: () throws -> Result) throws -> Result {
    do {
      return try body()
    } catch VaultCryptoError.authenticationFailure {
      throw VaultError.integrity("provider key \(key.name) does not decrypt")
    } catch VaultCryptoError.truncatedSealedBox {
      throw VaultError.integrity("provider key \(key.name) is truncated")
    }
  }
}
