import VaultCrypto

/// The vault file's byte layout, format version 1 (docs/FORMAT.md is the specification; keep
/// the two in step). The file is one JSON object whose last 152 bytes are a fixed-shape suffix
/// holding a SHA-256 checksum of every byte before that suffix and an HMAC-SHA256 of that checksum.
public enum VaultCodec {
  /// The `format` member, naming what the file is.
  public static let formatName = "llm-vault"
  /// The only version this build writes and reads.
  public static let formatVersion: Int64 = 1

  /// `"checksum":"` + 64 hex + `","mac":"` + 64 hex + `"}` + LF.
  static let suffixByteCount = 12 + 64 + 9 + 64 + 3
  private static let checksumPrefix = Array("\"checksum\":\"".utf8)
  private static let macPrefix = Array("\",\"mac\":\"".utf8)
  private static let suffixEnd = Array("\"}\n".utf8)

  /// A file that parsed and whose checksum matched; its MAC is checked once a key is at hand.
  public struct Decoded: Sendable {
    public var document: VaultDocument
    /// How many leading bytes of the file the checksum covers.
    public var coveredByteCount: Int
    /// SHA-256 of the covered bytes, already checked against the file.
    public var checksum: [UInt8]
    public var mac: [UInt8]
  }

  // MARK: Writing

  /// The file's bytes for `document`, checksummed and MACed with `keyring`.
  public static func encode(_ document: VaultDocument, keyring: Keyring) -> [UInt8] {
    var writer = JSONWriter(reservingCapacity: 512 + document.keys.count * 420)
    let header = document.header
    writer.raw("{\"format\":")
    writer.string(formatName)
    writer.raw(",\"version\":")
    writer.integer(formatVersion)
    writer.raw(",\n\"vault\":{\"id\":")
    writer.string(header.idHex)
    writer.raw(",\"created\":")
    writer.string(header.created.rfc3339)
    writer.raw(",\"generation\":")
    writer.integer(header.generation)
    writer.raw(",\"kdf\":{\"name\":\"scrypt\",\"n\":")
    writer.integer(header.kdf.parameters.n)
    writer.raw(",\"r\":")
    writer.integer(header.kdf.parameters.r)
    writer.raw(",\"p\":")
    writer.integer(header.kdf.parameters.p)
    writer.raw(",\"salt\":")
    writer.string(Base64.encode(header.kdf.salt))
    writer.raw("},\"masterKey\":")
    writer.string(Base64.encode(header.sealedMasterKey))
    writer.raw("},\n\"keys\":[\n")
    for (index, key) in document.keys.enumerated() {
      writeKey(key, to: &writer)
      writer.raw(index == document.keys.count - 1 ? "\n" : ",\n")
    }
    writer.raw("],\n")
    var bytes = writer.bytes
    let covered = bytes.count
    let checksum = bytes.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<covered])) }
    let mac = checksum.withUnsafeBytes { keyring.authenticationCode($0) }
    bytes.append(contentsOf: checksumPrefix)
    bytes.append(contentsOf: Array(Hex.encode(checksum).utf8))
    bytes.append(contentsOf: macPrefix)
    bytes.append(contentsOf: Array(Hex.encode(mac).utf8))
    bytes.append(contentsOf: suffixEnd)
    return bytes
  }

  private static func writeKey(_ key: ProviderKey, to writer: inout JSONWriter) {
    writer.raw("{\"id\":")
    writer.string(key.id.description)
    writer.raw(",\"name\":")
    writer.string(key.name)
    writer.raw(",\"provider\":")
    writer.optionalString(key.provider)
    writer.raw(",\"models\":")
    writer.stringArray(key.models)
    writer.raw(",\"env\":")
    writer.stringArray(key.environmentNames)
    writer.raw(",\"masked\":")
    writer.string(key.masked)
    writer.raw(",\"created\":")
    writer.string(key.created.rfc3339)
    writer.raw(",\"updated\":")
    writer.string(key.updated.rfc3339)
    writer.raw(",\"dataKey\":")
    writer.string(Base64.encode(key.sealedDataKey))
    writer.raw(",\"value\":")
    writer.string(Base64.encode(key.sealedValue))
    writer.raw("}")
  }

  // MARK: Reading

  /// Parses and checks everything that needs no key: the suffix, the checksum, the JSON, every
  /// member's type and rule. A file that passes is well-formed; only its MAC is left to check.
  public static func decode(_ bytes: [UInt8]) throws -> Decoded {
    if bytes.isEmpty { throw VaultError.integrity("the file is empty") }
    let value: JSONValue
    do {
      value = try JSONParser.parse(bytes)
    } catch {
      throw VaultError.integrity("not valid JSON at byte \(error.offset): \(error.reason)")
    }
    guard case .object(let root) = value else { throw VaultError.integrity("the file is not a JSON object") }
    guard case .string(let name)? = root["format"], name == formatName else {
      throw VaultError.integrity("this is not an llm-vault file (no \"format\": \"llm-vault\")")
    }
    guard case .integer(let version)? = root["version"] else { throw VaultError.integrity("'version' is missing") }
    guard version == formatVersion else {
      // A version-1 layout whose checksum fails is a damaged file, not a newer one.
      if let suffix = try? splitSuffix(bytes), !checksumMatches(bytes, suffix) {
        throw VaultError.integrity("checksum mismatch")
      }
      throw VaultError.unsupportedFormat(
        "vault file format version \(version) is not supported (this build reads version \(formatVersion))")
    }
    let suffix = try splitSuffix(bytes)
    guard checksumMatches(bytes, suffix) else { throw VaultError.integrity("checksum mismatch") }
    let (covered, checksum, mac) = (suffix.covered, suffix.checksum, suffix.mac)
    try expectNames(root, ["format", "version", "vault", "keys", "checksum", "mac"], in: "the file")
    let header = try decodeHeader(root["vault"])
    guard case .array(let elements)? = root["keys"] else { throw VaultError.integrity("'keys' is not an array") }
    var keys: [ProviderKey] = []
    keys.reserveCapacity(elements.count)
    var ids = Set<RecordID>()
    var names = Set<String>()
    for (index, element) in elements.enumerated() {
      let key = try decodeKey(element, index: index)
      guard ids.insert(key.id).inserted else { throw VaultError.integrity("record id \(key.id) appears twice") }
      guard names.insert(key.name).inserted else { throw VaultError.integrity("name \(key.name) appears twice") }
      keys.append(key)
    }
    return Decoded(
      document: VaultDocument(header: header, keys: keys), coveredByteCount: covered, checksum: checksum, mac: mac)
  }

  /// Checks the MAC of a decoded file with the unlocked keyring. The MAC is taken over the
  /// checksum (the SHA-256 of the covered bytes), which `decode` has already recomputed, so the
  /// file is hashed once, not twice; SHA-256's collision resistance carries the binding.
  public static func verifyMAC(_ decoded: Decoded, keyring: Keyring) throws {
    let expected = decoded.checksum.withUnsafeBytes { keyring.authenticationCode($0) }
    guard constantTimeEquals(expected, decoded.mac) else { throw VaultError.integrity("MAC mismatch") }
  }

  private static func splitSuffix(_ bytes: [UInt8]) throws -> (covered: Int, checksum: [UInt8], mac: [UInt8]) {
    guard bytes.count > suffixByteCount else { throw VaultError.integrity("the file is truncated") }
    let start = bytes.count - suffixByteCount
    let checksumStart = start + checksumPrefix.count
    let macPrefixStart = checksumStart + 64
    let macStart = macPrefixStart + macPrefix.count
    let endStart = macStart + 64
    guard bytes[start..<checksumStart].elementsEqual(checksumPrefix),
      bytes[macPrefixStart..<macStart].elementsEqual(macPrefix), bytes[endStart...].elementsEqual(suffixEnd),
      let checksum = lowercaseHex(bytes[checksumStart..<macPrefixStart]),
      let mac = lowercaseHex(bytes[macStart..<endStart])
    else { throw VaultError.integrity("the file does not end with its checksum and MAC; it may be truncated") }
    return (start, checksum, mac)
  }

  private static func checksumMatches(_ bytes: [UInt8], _ suffix: (covered: Int, checksum: [UInt8], mac: [UInt8]))
    -> Bool
  {
    let actual = bytes.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<suffix.covered])) }
    return constantTimeEquals(actual, suffix.checksum)
  }

  private static func lowercaseHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
    let text = String(decoding: digits, as: UTF8.self)
    guard let bytes = Hex.decode(text), Hex.encode(bytes) == text else { return nil }
    return bytes
  }

  private static func expectNames(_ object: JSONObject, _ expected: [String], in place: String) throws {
    guard object.members.count == expected.count, zip(object.members, expected).allSatisfy({ $0.name == $1 }) else {
      throw VaultError.integrity(
        "\(place) must have exactly the members \(expected.joined(separator: ", ")) in that order")
    }
  }

  private static func decodeHeader(_ value: JSONValue?) throws -> VaultHeader {
    guard case .object(let object)? = value else { throw VaultError.integrity("'vault' is not an object") }
    try expectNames(object, ["id", "created", "generation", "kdf", "masterKey"], in: "'vault'")
    guard case .string(let idHex)? = object["id"], idHex.utf8.count == 32, let id = lowercaseHex(ArraySlice(idHex.utf8))
    else {
      throw VaultError.integrity("'vault.id' is not 32 lowercase hex digits")
    }
    let created = try timestamp(object["created"], "vault.created")
    guard case .integer(let generation)? = object["generation"], generation >= 1 else {
      throw VaultError.integrity("'vault.generation' is not a positive integer")
    }
    guard case .object(let kdf)? = object["kdf"] else { throw VaultError.integrity("'vault.kdf' is not an object") }
    try expectNames(kdf, ["name", "n", "r", "p", "salt"], in: "'vault.kdf'")
    guard case .string("scrypt")? = kdf["name"] else { throw VaultError.integrity("'vault.kdf.name' is not scrypt") }
    guard case .integer(let n)? = kdf["n"], case .integer(let r)? = kdf["r"], case .integer(let p)? = kdf["p"],
      n >= 1 << KDFSettings.minimumLogN, n <= 1 << KDFSettings.maximumLogN, n & (n - 1) == 0, (1...32).contains(r),
      (1...16).contains(p)
    else { throw VaultError.integrity("'vault.kdf' parameters are out of range") }
    let parameters = Scrypt.Parameters(n: UInt64(n), r: UInt64(r), p: UInt64(p))
    guard parameters.memoryByteCount <= Scrypt.maximumMemoryByteCount else {
      throw VaultError.integrity("'vault.kdf' asks for more than 1 GiB of memory")
    }
    let salt = try base64(kdf["salt"], "vault.kdf.salt")
    guard (16...64).contains(salt.count) else { throw VaultError.integrity("'vault.kdf.salt' must be 16 to 64 bytes") }
    let sealedMasterKey = try base64(object["masterKey"], "vault.masterKey")
    guard sealedMasterKey.count == AESGCM.nonceByteCount + 32 + AESGCM.tagByteCount else {
      throw VaultError.integrity("'vault.masterKey' has the wrong length")
    }
    return VaultHeader(
      id: id, created: created, generation: UInt64(generation), kdf: KDFSettings(salt: salt, parameters: parameters),
      sealedMasterKey: sealedMasterKey)
  }

  private static let keyMembers = [
    "id", "name", "provider", "models", "env", "masked", "created", "updated", "dataKey", "value",
  ]

  private static func decodeKey(_ value: JSONValue, index: Int) throws -> ProviderKey {
    let place = "keys[\(index)]"
    guard case .object(let object) = value else { throw VaultError.integrity("\(place) is not an object") }
    try expectNames(object, keyMembers, in: place)
    guard case .string(let idHex)? = object["id"], let id = RecordID(hex: idHex) else {
      throw VaultError.integrity("\(place).id is not 32 lowercase hex digits")
    }
    guard case .string(let name)? = object["name"], Names.isIdentifier(name) else {
      throw VaultError.integrity("\(place).name is not a valid key name")
    }
    let provider: String?
    switch object["provider"] {
    case .null?: provider = nil
    case .string(let text)? where Names.isProviderID(text): provider = text
    default: throw VaultError.integrity("\(place).provider is not a provider id or null")
    }
    let models = try stringArray(object["models"], "\(place).models")
    for model in models where (try? Names.validateModel(model)) == nil {
      throw VaultError.integrity("\(place).models holds an invalid model name")
    }
    let environmentNames = try stringArray(object["env"], "\(place).env")
    for variable in environmentNames where !Names.isIdentifier(variable) {
      throw VaultError.integrity("\(place).env holds an invalid variable name")
    }
    guard case .string(let masked)? = object["masked"] else {
      throw VaultError.integrity("\(place).masked is not a string")
    }
    let sealedDataKey = try base64(object["dataKey"], "\(place).dataKey")
    guard sealedDataKey.count == AESGCM.nonceByteCount + 32 + AESGCM.tagByteCount else {
      throw VaultError.integrity("\(place).dataKey has the wrong length")
    }
    let sealedValue = try base64(object["value"], "\(place).value")
    guard sealedValue.count > AESGCM.nonceByteCount + AESGCM.tagByteCount else {
      throw VaultError.integrity("\(place).value is too short")
    }
    return ProviderKey(
      id: id, name: name, provider: provider, models: models, environmentNames: environmentNames, masked: masked,
      created: try timestamp(object["created"], "\(place).created"),
      updated: try timestamp(object["updated"], "\(place).updated"), sealedDataKey: sealedDataKey,
      sealedValue: sealedValue)
  }

  private static func timestamp(_ value: JSONValue?, _ place: String) throws -> Timestamp {
    guard case .string(let text)? = value, let timestamp = Timestamp(rfc3339: text) else {
      throw VaultError.integrity("'\(place)' is not a UTC timestamp")
    }
    return timestamp
  }

  private static func base64(_ value: JSONValue?, _ place: String) throws -> [UInt8] {
    guard case .string(let text)? = value, let bytes = Base64.decode(text) else {
      throw VaultError.integrity("'\(place)' is not canonical base64")
    }
    return bytes
  }

  private static func stringArray(_ value: JSONValue?, _ place: String) throws -> [String] {
    guard case .array(let elements)? = value else { throw VaultError.integrity("'\(place)' is not an array") }
    return try elements.map { element in
      guard case .string(let text) = element else { throw VaultError.integrity("'\(place)' holds a non-string") }
      return text
    }
  }
}
