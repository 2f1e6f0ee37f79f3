import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The scrypt settings a vault's passphrase is stretched with.
public struct KDFSettings: Equatable, Sendable {
  public var salt: [UInt8]
  public var parameters: Scrypt.Parameters

  public init(salt: [UInt8], parameters: Scrypt.Parameters) {
    self.salt = salt
    self.parameters = parameters
  }

  /// The default cost: N=2^17, r=8, p=1 (128 MiB, about 0.4 s here).
  public static let defaultLogN = 17
  /// The lowest cost `vault` writes or reads: N=2^14 (16 MiB), for small devices.
  ///
  /// Always 2^14 in a release build. A debug build (the one `swift test` runs end to end) takes a
  /// lower floor, 10 to 14, from `VAULT_TEST_SCRYPT_MIN_LOG_N`; any other value is ignored. The
  /// suite sets it so its many throwaway vaults cost N=2^10 instead of 2^14, without weakening
  /// what users get: the code that reads the variable is not compiled into a release build, so
  /// an installed `vault` never writes or accepts N below 2^14 (docs/FORMAT.md). Read at every
  /// use, not once: a serial `swift test` runs every test target in one process, and one that
  /// reads a vault before another sets the variable must not fix the floor for the rest.
  public static var minimumLogN: Int {
    #if DEBUG
      if let lowered = testMinimumLogN() { return lowered }
    #endif
    return productionMinimumLogN
  }
  /// The floor of a release build, and of a debug build without the test variable.
  static let productionMinimumLogN = 14
  /// The highest cost a file may ask for: N=2^20 (1 GiB at r=8).
  public static let maximumLogN = 20
  /// scrypt's r, the only value written or read.
  public static let blockSize: Int64 = 8
  /// scrypt's p, the only value written or read.
  public static let parallelism: Int64 = 1

  /// Whether N, r and p are parameters `vault` writes: N a power of two from 2^14 (see
  /// `minimumLogN`) to 2^20, r = 8, p = 1. The reader accepts nothing else (docs/FORMAT.md, the header).
  public static func isWritten(n: Int64, r: Int64, p: Int64) -> Bool {
    n >= 1 << minimumLogN && n <= 1 << maximumLogN && n & (n - 1) == 0 && r == blockSize && p == parallelism
  }

  #if DEBUG
    /// The test suite's lower floor: `VAULT_TEST_SCRYPT_MIN_LOG_N`, if it is a whole number from
    /// 10 to 14 (digits only); nil otherwise. Debug builds only.
    private static func testMinimumLogN() -> Int? {
      guard let raw = getenv("VAULT_TEST_SCRYPT_MIN_LOG_N") else { return nil }
      let text = String(cString: raw)
      guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(text),
        (10...productionMinimumLogN).contains(value)
      else { return nil }
      return value
    }
  #endif
}

/// The passphrase's copy of the master key: the scrypt settings and the master key sealed
/// under the key they stretch the passphrase into.
public struct PassphraseSlot: Equatable, Sendable {
  public var kdf: KDFSettings
  /// `nonce || AES-256-GCM(KEK, master key) || tag`.
  public var sealedMasterKey: [UInt8]

  public init(kdf: KDFSettings, sealedMasterKey: [UInt8]) {
    self.kdf = kdf
    self.sealedMasterKey = sealedMasterKey
  }
}

/// The vault-wide header: identity, write counter, the passphrase slot and the settings.
public struct VaultHeader: Equatable, Sendable {
  /// 16 random bytes fixed at `vault init`; bound into every ciphertext and the MAC key.
  public var id: [UInt8]
  public var created: Timestamp
  /// Counts saves: 1 after `vault init`, one more for every write.
  public var generation: UInt64
  /// nil in a team vault opened only by its members' identities (format version 3).
  public var passphraseSlot: PassphraseSlot?
  public var settings: VaultSettings

  public init(
    id: [UInt8], created: Timestamp, generation: UInt64, passphraseSlot: PassphraseSlot?,
    settings: VaultSettings = VaultSettings()
  ) {
    self.id = id
    self.created = created
    self.generation = generation
    self.passphraseSlot = passphraseSlot
    self.settings = settings
  }

  /// The id as the 32 hex digits that appear in the file and in associated data.
  public var idHex: String { Hex.encode(id) }
}

/// Everything a vault file holds, decoded.
public struct VaultDocument: Equatable, Sendable {
  public var header: VaultHeader
  /// The provider keys in file order (the order they were added).
  public var keys: [ProviderKey]
  /// The agent keys in file order (the order they were created).
  public var agents: [AgentKey]
  /// The members of a team vault, in the order they were added (none in a personal vault).
  public var members: [Member]

  public init(header: VaultHeader, keys: [ProviderKey], agents: [AgentKey] = [], members: [Member] = []) {
    self.header = header
    self.keys = keys
    self.agents = agents
    self.members = members
  }

  /// The index of the key named `name` (names are case-sensitive, like environment variables).
  public func index(of name: String) -> Int? {
    keys.firstIndex { $0.name == name }
  }

  /// The index of the agent key named `name`.
  public func agentIndex(of name: String) -> Int? {
    agents.firstIndex { $0.name == name }
  }

  /// The agent key named `name`, or `agentNotFound`.
  public func agent(named name: String) throws -> AgentKey {
    try Names.validateAgentName(name)
    guard let index = agentIndex(of: name) else { throw VaultError.agentNotFound(name: name) }
    return agents[index]
  }

  /// The key named `name`, or `keyNotFound`. A name that could not exist is refused without
  /// being echoed: it may be a value pasted in the wrong place.
  public func key(named name: String) throws -> ProviderKey {
    try Names.validateLookupName(name)
    guard let index = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    return keys[index]
  }
}
