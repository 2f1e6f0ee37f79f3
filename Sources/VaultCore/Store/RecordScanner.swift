import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Reads a provider key's line in the one member order the format allows, straight from the
/// bytes: no JSON tree, no string per base64 field. A vault of 10,000 keys is read line by line
/// on every command, and `vault run` reads a thousand keys per launch. Any deviation returns
/// nil, and the caller falls back to the general parser, which names the problem.
extension JSONCursor {
  mutating func literal(_ text: StaticString) -> Bool {
    let count = text.utf8CodeUnitCount
    guard position + count <= bytes.count, let base = bytes.baseAddress else { return false }
    guard memcmp(base + position, text.utf8Start, count) == 0 else { return false }
    position += count
    return true
  }

  /// A JSON string spelled exactly as the writer spells it (docs/FORMAT.md, "Encoding"): `\"`,
  /// `\\`, and `\u00XX` (lowercase hex) for the characters below U+0020, every other character
  /// as raw UTF-8. `\/`, `\n`, `\u0072` and the like are valid JSON but never written, so a line
  /// holding one is not in the canonical form and is refused.
  mutating func scanString() -> String? {
    guard current == UInt8(ascii: "\"") else { return nil }
    let start = position + 1
    var index = start
    var scratch: [UInt8]? = nil
    // The OR of every byte: below 0x80, the text is ASCII and valid UTF-8 as it stands, and
    // needs none of the (generic, far slower) validation a string of any UTF-8 gets.
    var seen: UInt8 = 0
    while index < bytes.count {
      let byte = bytes[index]
      seen |= byte
      if byte == UInt8(ascii: "\"") {
        let text: String?
        if let scratch {
          text = String(validating: scratch, as: UTF8.self)
        } else {
          text = Self.validUTF8(UnsafeBufferPointer(rebasing: bytes[start..<index]), ascii: seen < 0x80)
        }
        position = index + 1
        return text
      }
      if byte < 0x20 { return nil }
      if byte == UInt8(ascii: "\\") {
        if scratch == nil { scratch = Array(bytes[start..<index]) }
        guard index + 1 < bytes.count else { return nil }
        let next = bytes[index + 1]
        if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") {
          scratch!.append(next)
          index += 2
          continue
        }
        // \u00XX, XX lowercase hex below 0x20: the only other escape the writer uses.
        guard next == UInt8(ascii: "u"), index + 5 < bytes.count, bytes[index + 2] == UInt8(ascii: "0"),
          bytes[index + 3] == UInt8(ascii: "0"), let high = Hex.lowercaseValue(bytes[index + 4]), high <= 1,
          let low = Hex.lowercaseValue(bytes[index + 5])
        else { return nil }
        scratch!.append(high << 4 | low)
        index += 6
        continue
      }
      scratch?.append(byte)
      index += 1
    }
    return nil
  }

  /// `bytes` as a string if they are valid UTF-8, else nil: decoded with repair, which leaves
  /// valid UTF-8 byte for byte as it is and changes anything else, so the decoded bytes equal
  /// the input exactly when it was valid. (`String(validating:)` does the same check, but runs
  /// generic at run time, which cost more than the rest of a key's line; every key's mask holds
  /// a non-ASCII `…`.)
  private static func validUTF8(_ bytes: UnsafeBufferPointer<UInt8>, ascii: Bool) -> String? {
    var text = String(decoding: bytes, as: UTF8.self)
    if ascii { return text }
    let same = text.withUTF8 { decoded in
      guard decoded.count == bytes.count, let left = decoded.baseAddress, let right = bytes.baseAddress else {
        return decoded.count == bytes.count
      }
      return memcmp(left, right, bytes.count) == 0
    }
    return same ? text : nil
  }

  mutating func scanOptionalString() -> String?? {
    if literal("null") { return .some(nil) }
    return scanString().map { .some($0) }
  }

  mutating func scanStringArray() -> [String]? {
    guard literal("[") else { return nil }
    var strings: [String] = []
    if literal("]") { return strings }
    while true {
      guard let string = scanString() else { return nil }
      strings.append(string)
      if literal("]") { return strings }
      guard literal(",") else { return nil }
    }
  }

  /// The bytes up to the next `"` (for fields that never need escapes: hex, base64, dates),
  /// found with memchr and not looked at: each caller's decoder accepts only hex digits, base64
  /// or a timestamp's digits and separators, so a backslash or control character in the field
  /// fails it exactly as stopping at that byte would.
  mutating func scanPlain() -> UnsafeBufferPointer<UInt8>? {
    guard literal("\""), let base = bytes.baseAddress, position < bytes.count,
      let found = memchr(base + position, Int32(UInt8(ascii: "\"")), bytes.count - position)
    else { return nil }
    let start = position
    let end = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
    position = end + 1
    return UnsafeBufferPointer(rebasing: bytes[start..<end])
  }

  mutating func scanBase64() -> [UInt8]? {
    scanPlain().flatMap(Base64.decode)
  }

  mutating func scanTimestamp() -> Timestamp? {
    scanPlain().flatMap(Timestamp.parse).map(Timestamp.init(secondsSinceEpoch:))
  }

  mutating func scanRecordID() -> RecordID? {
    scanPlain().flatMap { RecordID(hexDigits: $0) }
  }
}

extension JSONCursor {
  /// A key name (`Names.isIdentifier`). A name spelled with nothing but identifier bytes, the
  /// only way the writer spells one, is taken straight from the bytes; anything else goes the
  /// general way (`scanString`, then the rule), with the same result.
  mutating func scanIdentifier() -> String? {
    if current == UInt8(ascii: "\""), let base = bytes.baseAddress {
      let start = position + 1
      var end = start
      while end < bytes.count, Self.isIdentifierByte(base[end]) { end += 1 }
      if end < bytes.count, base[end] == UInt8(ascii: "\""), end > start, end - start <= Names.maximumNameLength,
        base[start] &- UInt8(ascii: "0") >= 10
      {
        position = end + 1
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
      }
    }
    guard let name = scanString(), Names.isIdentifier(name) else { return nil }
    return name
  }

  private static func isIdentifierByte(_ byte: UInt8) -> Bool {
    (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "_")
  }

  /// A masked value (`Masking.isMaskForm`). The writer's usual form, three printable ASCII
  /// characters, `…` and three more, is checked and taken straight from its 9 bytes; anything
  /// else (`********`, non-ASCII, escapes) goes the general way, with the same result.
  mutating func scanMask() -> String? {
    if position + 11 <= bytes.count, let base = bytes.baseAddress {
      let text = base + position
      func plain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
      }
      if text[0] == UInt8(ascii: "\""), text[10] == UInt8(ascii: "\""), text[4] == 0xE2, text[5] == 0x80,
        text[6] == 0xA6, plain(text[1]), plain(text[2]), plain(text[3]), plain(text[7]), plain(text[8]),
        plain(text[9])
      {
        position += 11
        return String(decoding: UnsafeBufferPointer(start: text + 1, count: 9), as: UTF8.self)
      }
    }
    guard let masked = scanString(), Masking.isMaskForm(masked) else { return nil }
    return masked
  }
}

extension VaultCodec {
  /// The fast reading of a provider key's line; nil when anything is off (see above).
  static func scanKey(_ bytes: [UInt8], _ range: Range<Int>) -> ProviderKey? {
    bytes.withUnsafeBufferPointer { all -> ProviderKey? in
      var cursor = JSONCursor(bytes: UnsafeBufferPointer(rebasing: all[range]))
      guard cursor.literal("{\"id\":"), let id = cursor.scanRecordID(),
        cursor.literal(",\"name\":"), let name = cursor.scanIdentifier(),
        cursor.literal(",\"provider\":"), let provider = cursor.scanOptionalString(),
        provider.map(Names.isProviderID) ?? true,
        cursor.literal(",\"models\":"), let models = cursor.scanStringArray(),
        models.count <= RecordLimits.maximumModelsPerKey, models.allSatisfy(Names.isModelName),
        cursor.literal(",\"env\":"), let environmentNames = cursor.scanStringArray(),
        environmentNames.count <= RecordLimits.maximumEnvironmentNamesPerKey,
        environmentNames.allSatisfy(Names.isIdentifier),
        cursor.literal(",\"masked\":"), let masked = cursor.scanMask(),
        cursor.literal(",\"created\":"), let created = cursor.scanTimestamp(),
        cursor.literal(",\"updated\":"), let updated = cursor.scanTimestamp(),
        cursor.literal(",\"dataKey\":"), let sealedDataKey = cursor.scanBase64(),
        sealedDataKey.count == AESGCM.nonceByteCount + 32 + AESGCM.tagByteCount,
        cursor.literal(",\"value\":"), let sealedValue = cursor.scanBase64(),
        sealedValue.count > AESGCM.nonceByteCount + AESGCM.tagByteCount,
        cursor.literal("}"), cursor.position == cursor.bytes.count
      else { return nil }
      // Every field was read in the writer's one spelling, so the line is what the writer makes
      // of them, and a save may copy it (ProviderKey.encodedLine).
      return ProviderKey(
        id: id, name: name, provider: provider, models: models, environmentNames: environmentNames, masked: masked,
        created: created, updated: updated, sealedDataKey: sealedDataKey, sealedValue: sealedValue, line: bytes[range])
    }
  }
}

extension JSONCursor {
  mutating func scanBool() -> Bool? {
    if literal("true") { return true }
    if literal("false") { return false }
    return nil
  }

  mutating func scanOptionalTimestamp() -> Timestamp?? {
    if literal("null") { return .some(nil) }
    return scanTimestamp().map { .some($0) }
  }

  /// A sealed 32-byte key (60 bytes decoded) or null.
  mutating func scanOptionalSealedKey() -> [UInt8]?? {
    if literal("null") { return .some(nil) }
    guard let sealed = scanBase64(), sealed.count == AESGCM.nonceByteCount + 32 + AESGCM.tagByteCount else {
      return nil
    }
    return .some(sealed)
  }

  /// 2 * count lowercase hex digits.
  mutating func scanHex(byteCount: Int) -> [UInt8]? {
    guard let digits = scanPlain(), digits.count == 2 * byteCount else { return nil }
    let text = String(decoding: digits, as: UTF8.self)
    guard let bytes = Hex.decode(text), Hex.encode(bytes) == text else { return nil }
    return bytes
  }

  mutating func scanList<Element>(_ element: (inout JSONCursor) -> Element?) -> [Element]? {
    guard literal("[") else { return nil }
    var elements: [Element] = []
    if literal("]") { return elements }
    while true {
      guard let next = element(&self) else { return nil }
      elements.append(next)
      if literal("]") { return elements }
      guard literal(",") else { return nil }
    }
  }
}

extension VaultCodec {
  /// The fast reading of an agent key's line; nil when anything is off (the general parser then
  /// names the problem). An agent scoped to every key has a grant per key on this one line.
  static func scanAgent(_ bytes: [UInt8], _ range: Range<Int>, version: Int64) -> AgentKey? {
    bytes.withUnsafeBufferPointer { all -> AgentKey? in
      var cursor = JSONCursor(bytes: UnsafeBufferPointer(rebasing: all[range]))
      guard cursor.literal("{\"id\":"), let id = cursor.scanRecordID(),
        cursor.literal(",\"name\":"), let name = cursor.scanString(), Names.isAgentName(name),
        cursor.literal(",\"createdBy\":"), let createdBy = cursor.scanString(), !createdBy.isEmpty,
        createdBy.utf8.count <= 256, DisplaySafety.isClean(createdBy),
        cursor.literal(",\"created\":"), let created = cursor.scanTimestamp(),
        cursor.literal(",\"revoked\":"), let revoked = cursor.scanOptionalTimestamp(),
        cursor.literal(",\"scope\":{\"all\":"), let all = cursor.scanBool(),
        cursor.literal(",\"keys\":"), let scopeKeys = cursor.scanList({ $0.scanRecordID() }),
        cursor.literal(",\"providers\":"), let providers = cursor.scanStringArray(),
        providers.count <= RecordLimits.maximumScopeEntries, providers.allSatisfy(Names.isProviderID),
        cursor.literal(",\"models\":"), let models = cursor.scanStringArray(),
        models.count <= RecordLimits.maximumScopeEntries, models.allSatisfy(Names.isModelName),
        cursor.literal("}"), let limits = version >= 2 ? cursor.scanLimits() : AgentLimits.none,
        cursor.literal(",\"tokens\":"), let credentials = cursor.scanList({ $0.scanCredential() }),
        (1...2).contains(credentials.count),
        cursor.literal("}"), cursor.position == cursor.bytes.count
      else { return nil }
      return AgentKey(
        id: id.description, name: name, createdBy: createdBy, created: created, revoked: revoked,
        scope: AgentScope(all: all, keys: scopeKeys, providers: providers, models: models), limits: limits,
        credentials: credentials)
    }
  }
}

extension JSONCursor {
  /// `,"limits":{"rpm":N|null,...}` in the order AgentLimits.members gives (by position, not
  /// through its key paths, whose first use cost a run about 150,000 instructions).
  fileprivate mutating func scanLimits() -> AgentLimits? {
    guard literal(",\"limits\":{") else { return nil }
    var limits = AgentLimits.none
    for index in 0..<AgentLimits.memberCount {
      guard index == 0 || literal(","), literal("\""), literal(AgentLimits.memberName(index)), literal("\":") else {
        return nil
      }
      if literal("null") { continue }
      guard let value = scanInteger(), AgentLimits.isValid(value) else { return nil }
      limits[member: index] = value
    }
    guard literal("}") else { return nil }
    return limits
  }

  /// A positive decimal integer without sign, leading zeros or more than 13 digits.
  fileprivate mutating func scanInteger() -> Int? {
    let start = position
    var value = 0
    while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), position - start < 13 {
      value = value * 10 + Int(byte - UInt8(ascii: "0"))
      position += 1
    }
    guard position > start, bytes[start] != UInt8(ascii: "0") || position - start == 1 else { return nil }
    if let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { return nil }
    return value
  }

  fileprivate mutating func scanCredential() -> AgentCredential? {
    guard literal("{\"id\":"), let id = scanHex(byteCount: 8),
      literal(",\"display\":"), let display = scanString(), AgentToken.isDisplayForm(display),
      literal(",\"hash\":"), let hash = scanHex(byteCount: 32),
      literal(",\"notAfter\":"), let notAfter = scanTimestamp(),
      literal(",\"retireAt\":"), let retireAt = scanOptionalTimestamp(),
      literal(",\"slotKey\":"), let slotKey = scanOptionalSealedKey(),
      literal(",\"slot\":"), let slot = scanOptionalSealedKey(), (slotKey == nil) == (slot == nil),
      literal(",\"grants\":"), let grants = scanList({ $0.scanGrant() }), slot != nil || grants.isEmpty,
      Set(grants.map(\.key)).count == grants.count,
      literal("}")
    else { return nil }
    return AgentCredential(
      id: Hex.encode(id), display: display, secretHash: hash, notAfter: notAfter, retireAt: retireAt,
      sealedSlotKeyForOwner: slotKey, slot: slot, grants: grants)
  }

  fileprivate mutating func scanGrant() -> Grant? {
    guard literal("{\"key\":"), let key = scanRecordID(), literal(",\"dataKey\":"),
      let sealed = scanBase64(), sealed.count == AESGCM.nonceByteCount + 32 + AESGCM.tagByteCount, literal("}")
    else { return nil }
    return Grant(key: key, sealedDataKey: sealed)
  }
}
