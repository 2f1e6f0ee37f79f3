/// The associated-data and HKDF info strings of format version 1. Each names its purpose and
/// the version, so no key or ciphertext can stand in for another (docs/FORMAT.md, "Contexts").
/// Ids are 32 lowercase hex digits and names are `[A-Za-z0-9_]`, so `|` cannot occur inside
/// a field and the joined string is unambiguous.
enum CryptoContext {
  static func masterKey(vaultID: String) -> [UInt8] {
    Array("llm-vault/v1/master-key|\(vaultID)".utf8)
  }

  static func dataKey(vaultID: String, recordID: RecordID) -> [UInt8] {
    Array("llm-vault/v1/data-key|\(vaultID)|\(recordID)".utf8)
  }

  static func value(vaultID: String, recordID: RecordID, name: String) -> [UInt8] {
    Array("llm-vault/v1/value|\(vaultID)|\(recordID)|\(name)".utf8)
  }

  static let fileMACInfo = Array("llm-vault/v1/file-mac".utf8)

  /// What a member's age slot holds before the master key (format version 3): the vault id and
  /// the member's name, so a slot moved to another vault or another member's line opens to a
  /// binding that does not match, and is refused. Member names are `[A-Za-z0-9._-]`.
  static func memberSlot(vaultID: String, name: String) -> [UInt8] {
    Array("llm-vault/v3/member|\(vaultID)|\(name)\n".utf8)
  }

  /// A credential's slot key sealed under the master key, for the owner.
  static func slotKey(vaultID: String, agentID: String, tokenID: String) -> [UInt8] {
    Array("llm-vault/v1/agent-slot-key|\(vaultID)|\(agentID)|\(tokenID)".utf8)
  }

  /// HKDF info for the key that wraps a credential's slot key under the token's secret.
  static func slotWrapInfo(tokenID: String) -> [UInt8] {
    Array("llm-vault/v1/agent-slot|\(tokenID)".utf8)
  }

  /// The slot: binds the expiry and the scope, so editing either in the file breaks it.
  static func slot(vaultID: String, agentID: String, tokenID: String, notAfter: Timestamp, scope: AgentScope) -> [UInt8]
  {
    Array("llm-vault/v1/agent-slot|\(vaultID)|\(agentID)|\(tokenID)|\(notAfter.rfc3339)|\(scope.canonicalText)".utf8)
  }

  /// A provider key's data key sealed under a credential's slot key. It binds the token's grace
  /// end (`-` for none): the slot cannot be re-sealed without the old token, but grants can, so
  /// editing or removing `retireAt` by hand makes every grant fail to open.
  ///
  /// Format version 2 adds what the gateway acts on: the agent's limits and the base URL the
  /// key's provider is sent to. Both are appended only when set (`|limits=...|endpoint=...`), so
  /// a grant with neither is byte-for-byte a version-1 grant and needs no re-sealing.
  static func grant(
    vaultID: String, agentID: String, tokenID: String, recordID: RecordID, retireAt: Timestamp?,
    policy: GrantPolicy = GrantPolicy()
  ) -> [UInt8] {
    var text = "llm-vault/v1/grant|\(vaultID)|\(agentID)|\(tokenID)|\(recordID)|\(retireAt?.rfc3339 ?? "-")"
    if !policy.isEmpty {
      text += "|limits=\(policy.limits.canonicalText)|endpoint=\(policy.endpoint ?? "-")"
    }
    return Array(text.utf8)
  }
}

extension CryptoContext {
  /// The `value` context of one vault's keys, built as bytes into one reused buffer: the same
  /// bytes as `value(...)` (CryptoContextTests checks), without the string interpolation, for
  /// the batches `vault run` opens (two boxes per key). The part shared by every key is spelled
  /// once.
  struct ValueContexts {
    private let prefix: [UInt8]
    private var buffer: [UInt8] = []

    init(vaultID: String) {
      prefix = Array("llm-vault/v1/value|\(vaultID)|".utf8)
      buffer.reserveCapacity(128)
    }

    /// `value(...)` for `recordID` and `name`, valid during `body`.
    mutating func value<Result>(recordID: RecordID, name: String, _ body: (UnsafeRawBufferPointer) throws -> Result)
      rethrows -> Result
    {
      buffer.removeAll(keepingCapacity: true)
      buffer += prefix
      recordID.appendHex(to: &buffer)
      buffer.append(UInt8(ascii: "|"))
      buffer += name.utf8
      return try buffer.withUnsafeBytes(body)
    }
  }

  /// The `data-key` and `value` contexts of one vault's keys, as `ValueContexts` builds the
  /// value's: what the master key's batch (`vault run` with the passphrase) opens with.
  struct KeyContexts {
    private let dataKeyPrefix: [UInt8]
    private var buffer: [UInt8] = []
    private var values: ValueContexts

    init(vaultID: String) {
      dataKeyPrefix = Array("llm-vault/v1/data-key|\(vaultID)|".utf8)
      buffer.reserveCapacity(96)
      values = ValueContexts(vaultID: vaultID)
    }

    /// `dataKey(...)` for `recordID`, valid during `body`.
    mutating func dataKey<Result>(recordID: RecordID, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
      -> Result
    {
      buffer.removeAll(keepingCapacity: true)
      buffer += dataKeyPrefix
      recordID.appendHex(to: &buffer)
      return try buffer.withUnsafeBytes(body)
    }

    /// `value(...)` for `recordID` and `name`, valid during `body`.
    mutating func value<Result>(recordID: RecordID, name: String, _ body: (UnsafeRawBufferPointer) throws -> Result)
      rethrows -> Result
    {
      try values.value(recordID: recordID, name: name, body)
    }
  }

  /// The `grant` and `value` contexts of one token, as `KeyContexts` builds a vault's: what an
  /// agent key's batch (`vault run` with an agent key) opens with.
  struct TokenContexts {
    private let grantPrefix: [UInt8]
    private let grantEnd: [UInt8]
    private let limitsText: String?
    private var buffer: [UInt8] = []
    private var values: ValueContexts

    init(vaultID: String, agentID: String, tokenID: String, retireAt: Timestamp?, limits: AgentLimits) {
      grantPrefix = Array("llm-vault/v1/grant|\(vaultID)|\(agentID)|\(tokenID)|".utf8)
      grantEnd = Array("|\(retireAt?.rfc3339 ?? "-")".utf8)
      limitsText = limits.isNone ? nil : limits.canonicalText
      buffer.reserveCapacity(256)
      values = ValueContexts(vaultID: vaultID)
    }

    /// `grant(...)` for `recordID` with these limits and `endpoint`, valid during `body`.
    mutating func grant<Result>(
      recordID: RecordID, endpoint: String?, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
      buffer.removeAll(keepingCapacity: true)
      buffer += grantPrefix
      recordID.appendHex(to: &buffer)
      buffer += grantEnd
      if limitsText != nil || endpoint != nil {
        buffer += "|limits=\(limitsText ?? AgentLimits.none.canonicalText)|endpoint=\(endpoint ?? "-")".utf8
      }
      return try buffer.withUnsafeBytes(body)
    }

    /// `value(...)` for `recordID` and `name`, valid during `body`.
    mutating func value<Result>(recordID: RecordID, name: String, _ body: (UnsafeRawBufferPointer) throws -> Result)
      rethrows -> Result
    {
      try values.value(recordID: recordID, name: name, body)
    }
  }
}

/// What a grant binds besides its key: the agent's limits and the endpoint override of the
/// key's provider. `|` cannot occur in either (URLs with `|` are refused), so the text has one
/// reading.
struct GrantPolicy: Equatable, Sendable {
  var limits: AgentLimits = .none
  var endpoint: String? = nil

  var isEmpty: Bool { limits.isNone && endpoint == nil }
}
