import VaultCrypto

/// The vault file's byte layout, format version 2 (docs/FORMAT.md is the specification; keep
/// the two in step). The file is one JSON object whose last 152 bytes are a fixed-shape suffix
/// holding a SHA-256 checksum of every byte before that suffix and an HMAC-SHA256 of that checksum.
public enum VaultCodec {
  /// The `format` member, naming what the file is.
  public static let formatName = "llm-vault"
  /// The version this build writes for a personal vault.
  public static let formatVersion: Int64 = 2
  /// The version of a team vault: version 2 with a `members` section, and a header whose
  /// passphrase slot may be null. A vault without members and with a passphrase stays version 2,
  /// so older builds keep reading it.
  public static let teamFormatVersion: Int64 = 3
  /// The versions it reads: version 1 has no agent limits and no provider endpoints, and is
  /// written as version 2 by the first save.
  public static let readableVersions: ClosedRange<Int64> = 1...3

  /// The version `document` is written as.
  public static func version(of document: VaultDocument) -> Int64 {
    version(of: document.header, members: document.members)
  }

  private static func version(of header: VaultHeader, members: [Member]) -> Int64 {
    members.isEmpty && header.passphraseSlot != nil ? formatVersion : teamFormatVersion
  }

  private static let checksumPrefix = VaultFileSuffix.checksumPrefix
  private static let macPrefix = VaultFileSuffix.macPrefix
  private static let suffixEnd = VaultFileSuffix.end

  /// A file that parsed and whose checksum matched; its MAC is checked once a key is at hand.
  public struct Decoded: Sendable {
    public var document: VaultDocument
    /// SHA-256 of the covered bytes, already checked against the file.
    public var checksum: [UInt8]
    public var mac: [UInt8]
    /// SHA-256 of the header's JSON object as it stands in the file.
    public var headerDigest: [UInt8]
  }

  /// SHA-256 of the header's JSON object in `bytes` (a file this build wrote or checked): line 2
  /// after `"vault":` and before its comma, found without splitting the rest of the file.
  static func headerDigest(_ bytes: [UInt8]) throws -> [UInt8] {
    let range = try VaultFileLayout.header(in: bytes)
    return SHA256.hash(bytes[range])
  }

  // MARK: Writing

  /// The file's bytes for `document`, checksummed and MACed with `keyring`.
  public static func encode(_ document: VaultDocument, keyring: Keyring) -> [UInt8] {
    encode(document, keyring: keyring, reusingLines: true)
  }

  /// `reusingLines` false encodes every key from its fields, for tests that compare the two.
  static func encode(_ document: VaultDocument, keyring: Keyring, reusingLines: Bool) -> [UInt8] {
    let file = encodedFile(document, keyring: keyring, reusingLines: reusingLines, source: nil)
    // Without a source there is one piece, the array the writer filled.
    if file.pieces.count == 1 { return Array(file.pieces[0]) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(file.pieces.reduce(0) { $0 + $1.count })
    for piece in file.pieces { bytes.append(contentsOf: piece) }
    return bytes
  }

  /// A file's bytes in the pieces they are written in, and the digest of its header object.
  struct EncodedFile {
    var pieces: [ArraySlice<UInt8>]
    /// SHA-256 of the header's JSON object (for the rollback record).
    var headerDigest: [UInt8]
  }

  /// Bytes a new file may begin with, and a SHA-256 already fed exactly those bytes
  /// (`PreparedReplacement` hashes them beside scrypt). The stream is spent by the encoding it
  /// is given to.
  struct HashedPrefix {
    var pieces: [ArraySlice<UInt8>]
    var count: Int
    var digest: SHA256.Stream
  }

  /// The file for `document` without copying the unchanged: a run of keys whose lines were read
  /// from `source`, one after the other, is a slice of `source` (from the first line to the last,
  /// the `,` LF between them included, which is what the writer puts there), written as it is.
  /// A save of 10,000 keys then needs no second buffer of the file's size.
  /// When the file begins with the bytes of `hashed`, its checksum continues their SHA-256
  /// instead of hashing them again.
  static func encodedFile(
    _ document: VaultDocument, keyring: Keyring, reusingLinesOf source: [UInt8], continuing hashed: HashedPrefix? = nil
  ) -> EncodedFile {
    encodedFile(document, keyring: keyring, reusingLines: true, source: source, continuing: hashed)
  }

  private static func encodedFile(
    _ document: VaultDocument, keyring: Keyring, reusingLines: Bool, source: [UInt8]?,
    continuing hashed: HashedPrefix? = nil
  ) -> EncodedFile {
    var pieces: [ArraySlice<UInt8>] = []
    var writer = JSONWriter(reservingCapacity: source == nil ? 512 + document.keys.count * 420 : 4096)
    let headerRange = writeOpening(document.header, members: document.members, to: &writer)
    let headerDigest = SHA256.hash(writer.bytes[headerRange])
    // The lines of `source` not yet written: keys that follow each other in `source` too.
    var run: Range<Int>? = nil
    func endRun(followedByAnotherKey: Bool) {
      guard let current = run, let source else { return }
      pieces.append(ArraySlice(writer.bytes))
      writer = JSONWriter(reservingCapacity: 4096)
      pieces.append(source[current])
      writer.raw(followedByAnotherKey ? ",\n" : "\n")
      run = nil
    }
    for (index, key) in document.keys.enumerated() {
      let last = index == document.keys.count - 1
      if reusingLines, let source, let line = lineRange(of: key, in: source) {
        if let current = run, current.upperBound + 2 == line.lowerBound,
          source[current.upperBound] == UInt8(ascii: ","),
          source[current.upperBound + 1] == 0x0A
        {
          run = current.lowerBound..<line.upperBound
        } else {
          endRun(followedByAnotherKey: true)
          run = line
        }
        if last { endRun(followedByAnotherKey: false) }
        continue
      }
      endRun(followedByAnotherKey: true)
      writeKey(key, to: &writer, reusingLines: reusingLines)
      writer.raw(last ? "\n" : ",\n")
    }
    writer.raw("],\n\"agents\":[\n")
    for (index, agent) in document.agents.enumerated() {
      writeAgent(agent, to: &writer)
      writer.raw(index == document.agents.count - 1 ? "\n" : ",\n")
    }
    writer.raw("],\n")
    // The last piece takes the suffix (a file written whole is then one array, as before).
    var tail = writer.bytes
    writer = JSONWriter()
    let covered = pieces + [ArraySlice(tail)]
    let continued = hashed.flatMap { BytePieces.begin(covered, with: $0.pieces) ? $0 : nil }
    let stream = continued?.digest ?? SHA256.Stream()
    for piece in BytePieces.dropping(continued?.count ?? 0, from: covered) {
      piece.withUnsafeBytes { stream.update($0) }
    }
    let checksum = stream.finish()
    let mac = checksum.withUnsafeBytes { keyring.authenticationCode($0) }
    tail.append(contentsOf: checksumPrefix)
    tail.append(contentsOf: Array(Hex.encode(checksum).utf8))
    tail.append(contentsOf: macPrefix)
    tail.append(contentsOf: Array(Hex.encode(mac).utf8))
    tail.append(contentsOf: suffixEnd)
    pieces.append(ArraySlice(tail))
    return EncodedFile(pieces: pieces, headerDigest: headerDigest)
  }

  /// Where `key`'s line lies in `source`, when the key was read from those very bytes and is
  /// unchanged since (its line is a slice of `source`); nil otherwise.
  private static func lineRange(of key: ProviderKey, in source: [UInt8]) -> Range<Int>? {
    guard let line = key.encodedLine, line.endIndex <= source.count else { return nil }
    let same = line.withUnsafeBufferPointer { slice in
      source.withUnsafeBufferPointer { whole in
        slice.baseAddress != nil && slice.baseAddress == whole.baseAddress.map { $0 + line.startIndex }
      }
    }
    guard same else { return nil }
    assertIsEncoding(line, of: key)
    return line.startIndex..<line.endIndex
  }

  /// What every file begins with: the first line, the header (whose JSON object's range in
  /// `writer` is returned, for its digest), the members of a team vault, and `"keys":[` LF.
  private static func writeOpening(_ header: VaultHeader, members: [Member], to writer: inout JSONWriter) -> Range<Int>
  {
    let version = version(of: header, members: members)
    writer.raw("{\"format\":")
    writer.string(formatName)
    writer.raw(",\"version\":")
    writer.integer(version)
    writer.raw(",\n\"vault\":")
    let headerStart = writer.bytes.count
    writeHeader(header, version: version, to: &writer)
    let headerRange = headerStart..<writer.bytes.count
    if version >= teamFormatVersion {
      writer.raw(",\n\"members\":[\n")
      for (index, member) in members.enumerated() {
        writeMember(member, to: &writer)
        writer.raw(index == members.count - 1 ? "\n" : ",\n")
      }
      writer.raw("]")
    }
    writer.raw(",\n\"keys\":[\n")
    return headerRange
  }

  /// What the next save of `bytes` most likely begins with (`PreparedReplacement` writes it
  /// beside scrypt): the opening as the writer spells it with the generation one higher, then
  /// every key line as it stands in `bytes`, the separators between them included. A save that
  /// adds keys or changes only agent keys begins so; any other is written whole. Nil when the
  /// header or the members do not decode.
  static func likelyOpening(ofSaveOf bytes: [UInt8], _ layout: VaultFileLayout) -> [ArraySlice<UInt8>]? {
    guard var header = try? decodeHeader(bytes, layout.header, version: layout.version),
      let members = try? decodeMembers(bytes, layout, of: header), header.generation < UInt64.max
    else { return nil }
    header.generation += 1
    var writer = JSONWriter(reservingCapacity: 4096)
    _ = writeOpening(header, members: members, to: &writer)
    guard let first = layout.keyLines.first, let last = layout.keyLines.last else { return [ArraySlice(writer.bytes)] }
    return [ArraySlice(writer.bytes), bytes[first.lowerBound..<last.upperBound]]
  }

  /// The header's JSON object, exactly as written (line 2 of the file after `"vault":`).
  /// The header object; `version` 1 (read only, for the canonical check) has no `endpoints`.
  private static func writeHeader(_ header: VaultHeader, version: Int64 = formatVersion, to writer: inout JSONWriter) {
    writer.raw("{\"id\":")
    writer.string(header.idHex)
    writer.raw(",\"created\":")
    writer.string(header.created.rfc3339)
    writer.raw(",\"generation\":")
    writer.integer(header.generation)
    if let slot = header.passphraseSlot {
      writer.raw(",\"kdf\":{\"name\":\"scrypt\",\"n\":")
      writer.integer(slot.kdf.parameters.n)
      writer.raw(",\"r\":")
      writer.integer(slot.kdf.parameters.r)
      writer.raw(",\"p\":")
      writer.integer(slot.kdf.parameters.p)
      writer.raw(",\"salt\":")
      writer.string(Base64.encode(slot.kdf.salt))
      writer.raw("},\"masterKey\":")
      writer.string(Base64.encode(slot.sealedMasterKey))
    } else {
      writer.raw(",\"kdf\":null,\"masterKey\":null")
    }
    writer.raw(",\"settings\":{\"agentKeyLimit\":")
    writer.integer(header.settings.agentKeyLimit)
    if version >= 2 {
      writer.raw(",\"endpoints\":[")
      for (index, endpoint) in header.settings.endpoints.enumerated() {
        writer.raw(index == 0 ? "{\"provider\":" : ",{\"provider\":")
        writer.string(endpoint.provider)
        writer.raw(",\"url\":")
        writer.string(endpoint.baseURL)
        writer.raw("}")
      }
      writer.raw("]")
    }
    writer.raw("}}")
  }

  /// A key's line: the bytes it was read from when it is unchanged since (the reader took only
  /// the writer's spelling of every field, so they are what encoding it would give), else
  /// encoded. Debug builds (the test suite) encode every copied line too and compare.
  private static func writeKey(_ key: ProviderKey, to writer: inout JSONWriter, reusingLines: Bool) {
    guard reusingLines, let line = key.encodedLine else {
      encodeKey(key, to: &writer)
      return
    }
    writer.raw(line)
    assertIsEncoding(line, of: key)
  }

  /// Debug builds (the test suite) encode a key whose line is copied, and compare.
  private static func assertIsEncoding(_ line: ArraySlice<UInt8>, of key: ProviderKey) {
    assert(
      {
        var fresh = JSONWriter()
        encodeKey(key, to: &fresh)
        return fresh.bytes.elementsEqual(line)
      }(), "a key's line read from the file differs from its encoding")
  }

  private static func encodeKey(_ key: ProviderKey, to writer: inout JSONWriter) {
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
    writer.timestamp(key.created)
    writer.raw(",\"updated\":")
    writer.timestamp(key.updated)
    writer.raw(",\"dataKey\":")
    writer.base64(key.sealedDataKey)
    writer.raw(",\"value\":")
    writer.base64(key.sealedValue)
    writer.raw("}")
  }

  private static func writeAgent(_ agent: AgentKey, to writer: inout JSONWriter) {
    writer.raw("{\"id\":")
    writer.string(agent.id)
    writer.raw(",\"name\":")
    writer.string(agent.name)
    writer.raw(",\"createdBy\":")
    writer.string(agent.createdBy)
    writer.raw(",\"created\":")
    writer.string(agent.created.rfc3339)
    writer.raw(",\"revoked\":")
    writer.optionalString(agent.revoked?.rfc3339)
    writer.raw(",\"scope\":{\"all\":")
    writer.bool(agent.scope.all)
    writer.raw(",\"keys\":")
    writer.stringArray(agent.scope.keys.map(\.description))
    writer.raw(",\"providers\":")
    writer.stringArray(agent.scope.providers)
    writer.raw(",\"models\":")
    writer.stringArray(agent.scope.models)
    writer.raw("},\"limits\":{")
    for (index, limit) in AgentLimits.members.enumerated() {
      writer.raw(index == 0 ? "\"" : ",\"")
      writer.raw(limit.member)
      writer.raw("\":")
      if let value = agent.limits[keyPath: limit.keyPath] { writer.integer(value) } else { writer.raw("null") }
    }
    writer.raw("},\"tokens\":[")
    for (index, credential) in agent.credentials.enumerated() {
      if index > 0 { writer.raw(",") }
      writer.raw("{\"id\":")
      writer.string(credential.id)
      writer.raw(",\"display\":")
      writer.string(credential.display)
      writer.raw(",\"hash\":")
      writer.string(Hex.encode(credential.secretHash))
      writer.raw(",\"notAfter\":")
      writer.string(credential.notAfter.rfc3339)
      writer.raw(",\"retireAt\":")
      writer.optionalString(credential.retireAt?.rfc3339)
      writer.raw(",\"slotKey\":")
      writer.optionalString(credential.sealedSlotKeyForOwner.map(Base64.encode))
      writer.raw(",\"slot\":")
      writer.optionalString(credential.slot.map(Base64.encode))
      writer.raw(",\"grants\":[")
      for (grantIndex, grant) in credential.grants.enumerated() {
        if grantIndex > 0 { writer.raw(",") }
        writer.raw("{\"key\":")
        writer.string(grant.key.description)
        writer.raw(",\"dataKey\":")
        writer.base64(grant.sealedDataKey)
        writer.raw("}")
      }
      writer.raw("]}")
    }
    writer.raw("]}")
  }

  // MARK: Reading

  /// Parses and checks everything that needs no key: the layout, the checksum, every member's
  /// type and rule. A file that passes is well-formed; only its MAC is left to check.
  public static func decode(_ bytes: [UInt8]) throws -> Decoded {
    let layout = try checkedLayout(bytes)
    let header = try decodeHeader(bytes, layout.header, version: layout.version)
    let keys = try decodeKeys(bytes, layout)
    let agents = try decodeAgents(bytes, layout)
    let members = try decodeMembers(bytes, layout, of: header)
    return decoded(bytes, layout, header: header, keys: keys, agents: agents, members: members)
  }

  /// What `decode` gives for these records of `bytes`, read by `layout`.
  private static func decoded(
    _ bytes: [UInt8], _ layout: VaultFileLayout, header: VaultHeader, keys: [ProviderKey], agents: [AgentKey],
    members: [Member]
  ) -> Decoded {
    Decoded(
      document: VaultDocument(header: header, keys: keys, agents: agents, members: members),
      checksum: layout.checksum, mac: layout.mac, headerDigest: SHA256.hash(bytes[layout.header]))
  }

  /// `decode`, with `meanwhile` run on this thread while a second one parses the provider and
  /// agent keys: `meanwhile` (the passphrase's scrypt) gets the header and the members, read
  /// after the checksum was checked. Errors come as `decode` would give them: damage anywhere
  /// in the file before anything `meanwhile` throws, and `meanwhile` is not run when the
  /// members are damaged.
  static func decode<Value>(
    _ bytes: [UInt8], meanwhile: (VaultHeader, [Member]) throws -> Value
  ) throws -> (Decoded, Value) {
    let read = try checkedLayout(bytes, meanwhile: meanwhile) { bytes, layout in
      (try decodeKeys(bytes, layout), try decodeAgents(bytes, layout))
    }
    let (keys, agents) = read.records
    return (
      decoded(bytes, read.layout, header: read.header, keys: keys, agents: agents, members: read.members), read.value
    )
  }

  /// `decode(_:meanwhile:)` of a file of which only the head is read yet: its bytes are read on
  /// the second thread too (`checkedLayout(_ file:…)`), and `afterwards` runs there once the
  /// records are parsed (a save begins its temporary there: `PreparedReplacement`), not when
  /// they fail.
  static func decode<Value, Extra: Sendable>(
    _ file: VaultFile.Opened, meanwhile: (VaultHeader, [Member]) throws -> Value,
    afterwards: @escaping @Sendable ([UInt8], VaultFileLayout) -> Extra
  ) throws -> (bytes: [UInt8], decoded: Decoded, value: Value, extra: Extra) {
    let read = try checkedLayout(file, meanwhile: meanwhile) { bytes, layout in
      ((try decodeKeys(bytes, layout), try decodeAgents(bytes, layout)), afterwards(bytes, layout))
    }
    let ((keys, agents), extra) = read.records
    let decoded = decoded(
      read.bytes, read.layout, header: read.header, keys: keys, agents: agents, members: read.members)
    return (read.bytes, decoded, read.value, extra)
  }

  /// The checked layout, the header and the members of `bytes`, with `meanwhile` run on this
  /// thread while a second one checks the rest and then reads `records` from the layout. Errors
  /// come in `decode`'s order: damage anywhere in the file (or what `records` throws) before
  /// anything `meanwhile` throws, and `meanwhile` is not run when the members are damaged.
  static func checkedLayout<Value, Records: Sendable>(
    _ bytes: [UInt8], meanwhile: (VaultHeader, [Member]) throws -> Value,
    records: @escaping @Sendable ([UInt8], VaultFileLayout) throws -> Records
  ) throws -> (layout: VaultFileLayout, header: VaultHeader, members: [Member], value: Value, records: Records) {
    if let personal = personalHeader(bytes) {
      let read = try checkedPersonalLayout(personal, reading: { bytes }, meanwhile: meanwhile, records: records)
      return (read.layout, read.header, [], read.value, read.records)
    }
    let layout = try checkedLayout(bytes)
    let header = try decodeHeader(bytes, layout.header, version: layout.version)
    let second = BackgroundWork { try records(bytes, layout) }
    let members: [Member]
    let value: Value
    do {
      members = try decodeMembers(bytes, layout, of: header)
      value = try meanwhile(header, members)
    } catch {
      _ = try second.wait()
      throw error
    }
    return (layout, header, members, value, try second.wait())
  }

  /// `checkedLayout(_:meanwhile:records:)` of a file of which only the head is read yet: for a
  /// personal vault `meanwhile` starts with the header in the head, and the second thread reads
  /// the whole file before it checks it (at 10,000 keys, 4 MB whose read, mostly page faults of a
  /// fresh buffer, held scrypt back 5 to 9 ms); anything else is read whole first. The bytes
  /// read come back with the rest.
  static func checkedLayout<Value, Records: Sendable>(
    _ file: VaultFile.Opened, meanwhile: (VaultHeader, [Member]) throws -> Value,
    records: @escaping @Sendable ([UInt8], VaultFileLayout) throws -> Records, attempts: Int = 2
  ) throws -> (
    bytes: [UInt8], layout: VaultFileLayout, header: VaultHeader, members: [Member], value: Value, records: Records
  ) {
    guard let personal = personalHeader(file.head) else {
      let bytes = try file.readAll()
      let read = try checkedLayout(bytes, meanwhile: meanwhile, records: records)
      return (bytes, read.layout, read.header, read.members, read.value, read.records)
    }
    let head = file.head
    do {
      let read = try checkedPersonalLayout(
        personal,
        reading: {
          let bytes = try file.readAll()
          // Read through one descriptor, so a save (a rename) cannot come between; only a write
          // into the file itself can, and then the header `meanwhile` ran with is not this file's.
          guard bytes.starts(with: head[..<(personal.range.upperBound + 2)]) else { throw ChangedWhileRead() }
          return bytes
        }, meanwhile: meanwhile, records: records)
      return (read.bytes, read.layout, read.header, [], read.value, read.records)
    } catch is ChangedWhileRead {
      // A passing race, not damage: read it all again, once.
      guard attempts > 1 else {
        throw VaultError.io(
          "\(file.path) changed while it was read (written in place by another program?); run the command again")
      }
      return try checkedLayout(try file.reopened(), meanwhile: meanwhile, records: records, attempts: attempts - 1)
    }
  }

  /// The file's head no longer begins the file read through the same descriptor.
  private struct ChangedWhileRead: Error {}

  /// A personal vault (version 1 or 2) has no members and its header is line 2: the checksum
  /// (a SHA-256 of the whole file) and the layout are checked on the second thread as well,
  /// and `meanwhile` starts at once with the header, read by the same strict rules (so its
  /// scrypt cost is one a valid file may ask for). Whatever they find still comes first.
  /// Anything else (a team vault, a file whose first two lines are not a personal vault's) is
  /// read in order, which gives exactly `decode`'s errors.
  private static func personalHeader(_ bytes: [UInt8]) -> (version: Int64, range: Range<Int>, header: VaultHeader)? {
    guard let version = personalVersion(bytes), let range = try? VaultFileLayout.header(in: bytes),
      let header = try? decodeHeader(bytes, range, version: version)
    else { return nil }
    return (version, range, header)
  }

  /// The second thread reads the file (`reading`), checks its layout and reads `records`, while
  /// this one runs `meanwhile` with the header.
  private static func checkedPersonalLayout<Value, Records: Sendable>(
    _ personal: (version: Int64, range: Range<Int>, header: VaultHeader),
    reading: @escaping @Sendable () throws -> [UInt8], meanwhile: (VaultHeader, [Member]) throws -> Value,
    records: @escaping @Sendable ([UInt8], VaultFileLayout) throws -> Records
  ) throws -> (bytes: [UInt8], layout: VaultFileLayout, header: VaultHeader, value: Value, records: Records) {
    let second = BackgroundWork { () throws -> ([UInt8], VaultFileLayout, Records) in
      let bytes = try reading()
      let layout = try checkedLayout(bytes)
      guard layout.version == personal.version, layout.header == personal.range, layout.memberLines.isEmpty else {
        throw VaultError.integrity("the file's layout is broken: header line")
      }
      return (bytes, layout, try records(bytes, layout))
    }
    let value: Value
    do {
      value = try meanwhile(personal.header, [])
    } catch {
      _ = try second.wait()
      throw error
    }
    // The layout's header is `range` (checked on the second thread).
    let (bytes, layout, read) = try second.wait()
    return (bytes, layout, personal.header, value, read)
  }

  /// 1 or 2 when the file's first line is a personal vault's of that version, else nil.
  private static func personalVersion(_ bytes: [UInt8]) -> Int64? {
    (Int64(1)...2).first { version in
      let line = VaultFileLayout.firstLine(version: version)
      return bytes.count > line.count && bytes.starts(with: line) && bytes[line.count] == 0x0A
    }
  }

  /// Every provider key's line, each name and id once.
  static func decodeKeys(_ bytes: [UInt8], _ layout: VaultFileLayout) throws -> [ProviderKey] {
    var keys: [ProviderKey] = []
    keys.reserveCapacity(layout.keyLines.count)
    // Sized once: grown one doubling at a time, the two sets rehashed every key about twice
    // over (1.5 ms of the 58 `vault add` takes in a session at 10,000 keys).
    var ids = Set<RecordID>(minimumCapacity: layout.keyLines.count)
    var names = Set<String>(minimumCapacity: layout.keyLines.count)
    for (index, range) in layout.keyLines.enumerated() {
      let key = try decodeKey(bytes, range, index: index)
      guard ids.insert(key.id).inserted else { throw VaultError.integrity("record id \(key.id) appears twice") }
      guard names.insert(key.name).inserted else { throw VaultError.integrity("name \(key.name) appears twice") }
      keys.append(key)
    }
    return keys
  }

  /// The layout of a version-1 file whose checksum matches. The version comes first: a newer
  /// format may lay out everything after its first line differently.
  static func checkedLayout(_ bytes: [UInt8]) throws -> VaultFileLayout {
    if bytes.isEmpty { throw VaultError.integrity("the file is empty") }
    let versionPrefix = Array("{\"format\":\"llm-vault\",\"version\":".utf8)
    guard bytes.starts(with: versionPrefix) else {
      throw VaultError.integrity("this is not an llm-vault file (it does not start with {\"format\":\"llm-vault\")")
    }
    let digits = bytes[versionPrefix.count...].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    guard !digits.isEmpty, digits.count <= 9, let version = Int64(String(decoding: digits, as: UTF8.self)) else {
      throw VaultError.integrity("'version' is not a number")
    }
    guard readableVersions.contains(version) else {
      // A version-1 suffix whose checksum fails is a damaged file, not a newer one.
      if let suffix = try? VaultFileSuffix(bytes),
        !VaultFileSuffix.checksumMatches(bytes, covered: suffix.covered, checksum: suffix.checksum)
      {
        throw VaultError.integrity("checksum mismatch")
      }
      throw VaultError.unsupportedFormat(
        "vault file format version \(version) is not supported (this build reads versions 1 to 3)")
    }
    let suffix = try VaultFileSuffix(bytes)
    guard VaultFileSuffix.checksumMatches(bytes, covered: suffix.covered, checksum: suffix.checksum) else {
      throw VaultError.integrity("checksum mismatch")
    }
    return try VaultFileLayout(bytes)
  }

  /// Parses one line's JSON object.
  static func object(_ bytes: [UInt8], _ range: Range<Int>, _ place: String) throws -> JSONObject {
    let value: JSONValue
    do {
      value = try JSONParser.parse(Array(bytes[range]))
    } catch {
      throw VaultError.integrity(
        "\(place) is not valid JSON at byte \(range.lowerBound + error.offset): \(error.reason)")
    }
    guard case .object(let object) = value else { throw VaultError.integrity("\(place) is not an object") }
    return object
  }

  static func decodeAgents(_ bytes: [UInt8], _ layout: VaultFileLayout) throws -> [AgentKey] {
    var agents: [AgentKey] = []
    var ids = Set<String>(minimumCapacity: layout.agentLines.count)
    var names = Set<String>(minimumCapacity: layout.agentLines.count)
    var tokenIDs = Set<String>()
    for (index, range) in layout.agentLines.enumerated() {
      let agent = try decodeAgent(bytes, range, index: index, version: layout.version)
      guard ids.insert(agent.id).inserted else { throw VaultError.integrity("agent id \(agent.id) appears twice") }
      guard names.insert(agent.name).inserted else {
        throw VaultError.integrity("agent name \(agent.name) appears twice")
      }
      for credential in agent.credentials where !tokenIDs.insert(credential.id).inserted {
        throw VaultError.integrity("token id \(credential.id) appears twice")
      }
      agents.append(agent)
    }
    return agents
  }

  /// Checks the MAC of a decoded file with the unlocked keyring. The MAC is taken over the
  /// checksum (the SHA-256 of the covered bytes), which `decode` has already recomputed, so the
  /// file is hashed once, not twice; SHA-256's collision resistance carries the binding.
  public static func verifyMAC(_ decoded: Decoded, keyring: Keyring) throws {
    try verifyMAC(checksum: decoded.checksum, mac: decoded.mac, keyring: keyring)
  }

  static func verifyMAC(checksum: [UInt8], mac: [UInt8], keyring: Keyring) throws {
    let expected = checksum.withUnsafeBytes { keyring.authenticationCode($0) }
    guard constantTimeEquals(expected, mac) else { throw VaultError.integrity("MAC mismatch") }
  }

  static func lowercaseHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
    let text = String(decoding: digits, as: UTF8.self)
    guard let bytes = Hex.decode(text), Hex.encode(bytes) == text else { return nil }
    return bytes
  }

  static func expectNames(_ object: JSONObject, _ expected: [String], in place: String) throws {
    guard object.members.count == expected.count, zip(object.members, expected).allSatisfy({ $0.name == $1 }) else {
      throw VaultError.integrity(
        "\(place) must have exactly the members \(expected.joined(separator: ", ")) in that order")
    }
  }

  static func decodeHeader(_ bytes: [UInt8], _ range: Range<Int>, version: Int64) throws -> VaultHeader {
    let object = try object(bytes, range, "'vault'")
    try expectNames(object, ["id", "created", "generation", "kdf", "masterKey", "settings"], in: "'vault'")
    guard case .string(let idHex)? = object["id"], idHex.utf8.count == 32, let id = lowercaseHex(ArraySlice(idHex.utf8))
    else {
      throw VaultError.integrity("'vault.id' is not 32 lowercase hex digits")
    }
    let created = try timestamp(object["created"], "vault.created")
    guard case .integer(let generation)? = object["generation"], generation >= 1 else {
      throw VaultError.integrity("'vault.generation' is not a positive integer")
    }
    let passphraseSlot: PassphraseSlot?
    if version >= teamFormatVersion, case .null? = object["kdf"], case .null? = object["masterKey"] {
      passphraseSlot = nil
    } else {
      passphraseSlot = try decodePassphraseSlot(object)
    }
    guard case .object(let settings)? = object["settings"] else {
      throw VaultError.integrity("'vault.settings' is not an object")
    }
    try expectNames(
      settings, version >= 2 ? ["agentKeyLimit", "endpoints"] : ["agentKeyLimit"], in: "'vault.settings'")
    guard case .integer(let limit)? = settings["agentKeyLimit"],
      (0...Int64(VaultSettings.maximumAgentKeyLimit)).contains(limit)
    else { throw VaultError.integrity("'vault.settings.agentKeyLimit' is out of range") }
    let endpoints = version >= 2 ? try decodeEndpoints(settings["endpoints"]) : []
    let header = VaultHeader(
      id: id, created: created, generation: UInt64(generation), passphraseSlot: passphraseSlot,
      settings: VaultSettings(agentKeyLimit: Int(limit), endpoints: endpoints))
    // Only the writer's spelling is read: no other spacing, escapes or number forms.
    var canonical = JSONWriter(reservingCapacity: range.count)
    writeHeader(header, version: version, to: &canonical)
    guard canonical.bytes.elementsEqual(bytes[range]) else {
      throw VaultError.integrity("'vault' is not in the canonical form (spacing, escapes or number form)")
    }
    return header
  }

  /// The header's `kdf` and `masterKey`.
  private static func decodePassphraseSlot(_ object: JSONObject) throws -> PassphraseSlot {
    guard case .object(let kdf)? = object["kdf"] else { throw VaultError.integrity("'vault.kdf' is not an object") }
    try expectNames(kdf, ["name", "n", "r", "p", "salt"], in: "'vault.kdf'")
    guard case .string("scrypt")? = kdf["name"] else { throw VaultError.integrity("'vault.kdf.name' is not scrypt") }
    // Only what this program writes is read: r = 8, p = 1, N = 2^14 to 2^20. A file asking for
    // more is damaged or hostile, and is refused here, before any scrypt runs: an edit cannot
    // make a command spend more than the dearest cost `vault init --scrypt-log-n 20` can choose.
    guard case .integer(let n)? = kdf["n"], case .integer(let r)? = kdf["r"], case .integer(let p)? = kdf["p"],
      KDFSettings.isWritten(n: n, r: r, p: p)
    else {
      throw VaultError.integrity(
        "'vault.kdf' parameters are not ones vault writes (N = 2^\(KDFSettings.minimumLogN) to 2^\(KDFSettings.maximumLogN), r = \(KDFSettings.blockSize), p = \(KDFSettings.parallelism))"
      )
    }
    let parameters = Scrypt.Parameters(n: UInt64(n), r: UInt64(r), p: UInt64(p))
    let salt = try base64(kdf["salt"], "vault.kdf.salt")
    guard (16...64).contains(salt.count) else { throw VaultError.integrity("'vault.kdf.salt' must be 16 to 64 bytes") }
    let sealedMasterKey = try base64(object["masterKey"], "vault.masterKey")
    guard sealedMasterKey.count == AESGCM.nonceByteCount + 32 + AESGCM.tagByteCount else {
      throw VaultError.integrity("'vault.masterKey' has the wrong length")
    }
    return PassphraseSlot(kdf: KDFSettings(salt: salt, parameters: parameters), sealedMasterKey: sealedMasterKey)
  }

  /// `[{"provider":P,"url":U},...]`: sorted by provider, one each, every URL one the gateway may use.
  private static func decodeEndpoints(_ value: JSONValue?) throws -> [ProviderEndpoint] {
    let place = "'vault.settings.endpoints'"
    guard case .array(let values)? = value else { throw VaultError.integrity("\(place) is not an array") }
    let endpoints = try values.map { value -> ProviderEndpoint in
      guard case .object(let object) = value else { throw VaultError.integrity("\(place) holds a non-object") }
      try expectNames(object, ["provider", "url"], in: place)
      guard case .string(let provider)? = object["provider"], Names.isProviderID(provider),
        case .string(let url)? = object["url"], EndpointURL.isValidBaseURL(url)
      else { throw VaultError.integrity("\(place) holds an invalid provider or URL") }
      return ProviderEndpoint(provider: provider, baseURL: url)
    }
    guard zip(endpoints, endpoints.dropFirst()).allSatisfy({ $0.provider < $1.provider }) else {
      throw VaultError.integrity("\(place) is not sorted by provider, or names one twice")
    }
    return endpoints
  }

  private static let keyMembers = [
    "id", "name", "provider", "models", "env", "masked", "created", "updated", "dataKey", "value",
  ]

  static func decodeKey(_ bytes: [UInt8], _ range: Range<Int>, index: Int) throws -> ProviderKey {
    guard range.count <= RecordLimits.maximumKeyLineByteCount else {
      throw VaultError.integrity("keys[\(index)] is longer than \(RecordLimits.maximumKeyLineByteCount >> 10) KiB")
    }
    if let key = scanKey(bytes, range) { return key }
    // The general parser names what is wrong; a line it accepts is valid JSON that the writer
    // would not have written (other spacing or escapes), and the format allows only the
    // writer's spelling.
    _ = try decodeKeyInGeneral(bytes, range, index: index)
    throw VaultError.integrity("keys[\(index)] is not in the canonical form (spacing or string escapes)")
  }

  /// The general reading of a key's line, through the JSON tree: slower, but it names exactly
  /// what is wrong.
  static func decodeKeyInGeneral(_ bytes: [UInt8], _ range: Range<Int>, index: Int) throws -> ProviderKey {
    let place = "keys[\(index)]"
    let object = try object(bytes, range, place)
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
    for model in models where !Names.isModelName(model) {
      throw VaultError.integrity("\(place).models holds an invalid model name")
    }
    guard models.count <= RecordLimits.maximumModelsPerKey else {
      throw VaultError.integrity("\(place).models holds more than \(RecordLimits.maximumModelsPerKey) models")
    }
    let environmentNames = try stringArray(object["env"], "\(place).env")
    for variable in environmentNames where !Names.isIdentifier(variable) {
      throw VaultError.integrity("\(place).env holds an invalid variable name")
    }
    guard environmentNames.count <= RecordLimits.maximumEnvironmentNamesPerKey else {
      throw VaultError.integrity(
        "\(place).env holds more than \(RecordLimits.maximumEnvironmentNamesPerKey) variable names")
    }
    guard case .string(let masked)? = object["masked"], Masking.isMaskForm(masked) else {
      throw VaultError.integrity("\(place).masked is not a masked form (3 characters, '…', 3 characters, or ********)")
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

  private static let agentMembersV1 = ["id", "name", "createdBy", "created", "revoked", "scope", "tokens"]
  private static let agentMembers = ["id", "name", "createdBy", "created", "revoked", "scope", "limits", "tokens"]
  private static let credentialMembers = [
    "id", "display", "hash", "notAfter", "retireAt", "slotKey", "slot", "grants",
  ]

  static func decodeAgent(_ bytes: [UInt8], _ range: Range<Int>, index: Int, version: Int64) throws -> AgentKey {
    if let agent = scanAgent(bytes, range, version: version) { return agent }
    _ = try decodeAgentInGeneral(bytes, range, index: index, version: version)
    throw VaultError.integrity("agents[\(index)] is not in the canonical form (spacing or string escapes)")
  }

  /// The general reading of an agent's line, through the JSON tree; it names what is wrong.
  static func decodeAgentInGeneral(_ bytes: [UInt8], _ range: Range<Int>, index: Int, version: Int64) throws
    -> AgentKey
  {
    let place = "agents[\(index)]"
    let object = try object(bytes, range, place)
    try expectNames(object, version >= 2 ? agentMembers : agentMembersV1, in: place)
    guard case .string(let id)? = object["id"], RecordID(hex: id) != nil else {
      throw VaultError.integrity("\(place).id is not 32 lowercase hex digits")
    }
    guard case .string(let name)? = object["name"], Names.isAgentName(name) else {
      throw VaultError.integrity("\(place).name is not a valid agent name")
    }
    let createdBy = try userName(object["createdBy"], "\(place).createdBy")
    let created = try timestamp(object["created"], "\(place).created")
    let revoked = try optionalTimestamp(object["revoked"], "\(place).revoked")
    guard case .object(let scopeObject)? = object["scope"] else {
      throw VaultError.integrity("\(place).scope is not an object")
    }
    try expectNames(scopeObject, ["all", "keys", "providers", "models"], in: "\(place).scope")
    guard case .bool(let all)? = scopeObject["all"] else {
      throw VaultError.integrity("\(place).scope.all is not a boolean")
    }
    let scopeKeys = try stringArray(scopeObject["keys"], "\(place).scope.keys").map { text in
      guard let id = RecordID(hex: text) else { throw VaultError.integrity("\(place).scope.keys holds an invalid id") }
      return id
    }
    let providers = try stringArray(scopeObject["providers"], "\(place).scope.providers")
    let models = try stringArray(scopeObject["models"], "\(place).scope.models")
    guard providers.allSatisfy(Names.isProviderID), models.allSatisfy(Names.isModelName) else {
      throw VaultError.integrity("\(place).scope holds an invalid provider or model")
    }
    guard providers.count <= RecordLimits.maximumScopeEntries, models.count <= RecordLimits.maximumScopeEntries else {
      throw VaultError.integrity(
        "\(place).scope holds more than \(RecordLimits.maximumScopeEntries) providers or models")
    }
    var limits = AgentLimits.none
    if version >= 2 {
      guard case .object(let limitsObject)? = object["limits"] else {
        throw VaultError.integrity("\(place).limits is not an object")
      }
      try expectNames(limitsObject, AgentLimits.members.map(\.member.description), in: "\(place).limits")
      for limit in AgentLimits.members {
        switch limitsObject[limit.member.description] {
        case .null?: break
        case .integer(let value)? where AgentLimits.isValid(Int(clamping: value)):
          limits[keyPath: limit.keyPath] = Int(value)
        default: throw VaultError.integrity("\(place).limits.\(limit.member.description) is not null or 1 to 10^12")
        }
      }
    }
    guard case .array(let tokenValues)? = object["tokens"], (1...2).contains(tokenValues.count) else {
      throw VaultError.integrity("\(place).tokens must hold one or two tokens")
    }
    let credentials = try tokenValues.enumerated().map { offset, value in
      try decodeCredential(value, place: "\(place).tokens[\(offset)]")
    }
    return AgentKey(
      id: id, name: name, createdBy: createdBy, created: created, revoked: revoked,
      scope: AgentScope(all: all, keys: scopeKeys, providers: providers, models: models), limits: limits,
      credentials: credentials)
  }

  private static func decodeCredential(_ value: JSONValue, place: String) throws -> AgentCredential {
    guard case .object(let object) = value else { throw VaultError.integrity("\(place) is not an object") }
    try expectNames(object, credentialMembers, in: place)
    guard case .string(let id)? = object["id"], id.utf8.count == 16, lowercaseHex(ArraySlice(id.utf8)) != nil else {
      throw VaultError.integrity("\(place).id is not 16 lowercase hex digits")
    }
    guard case .string(let display)? = object["display"], AgentToken.isDisplayForm(display) else {
      throw VaultError.integrity("\(place).display is not a token's display form")
    }
    guard case .string(let hashHex)? = object["hash"], hashHex.utf8.count == 64,
      let hash = lowercaseHex(ArraySlice(hashHex.utf8))
    else { throw VaultError.integrity("\(place).hash is not 64 lowercase hex digits") }
    let notAfter = try timestamp(object["notAfter"], "\(place).notAfter")
    let retireAt = try optionalTimestamp(object["retireAt"], "\(place).retireAt")
    let slotKey = try optionalSealed(object["slotKey"], "\(place).slotKey", plaintextCount: 32)
    let slot = try optionalSealed(object["slot"], "\(place).slot", plaintextCount: 32)
    guard (slotKey == nil) == (slot == nil) else {
      throw VaultError.integrity("\(place) has a slot key without a slot, or the reverse")
    }
    guard case .array(let grantValues)? = object["grants"] else {
      throw VaultError.integrity("\(place).grants is not an array")
    }
    guard slot != nil || grantValues.isEmpty else { throw VaultError.integrity("\(place) has grants but no slot") }
    var seen = Set<RecordID>(minimumCapacity: grantValues.count)
    let grants = try grantValues.map { value -> Grant in
      guard case .object(let grant) = value else { throw VaultError.integrity("\(place).grants holds a non-object") }
      try expectNames(grant, ["key", "dataKey"], in: "\(place).grants[]")
      guard case .string(let keyText)? = grant["key"], let key = RecordID(hex: keyText), seen.insert(key).inserted
      else {
        throw VaultError.integrity("\(place).grants holds an invalid or repeated key id")
      }
      guard let sealed = try optionalSealed(grant["dataKey"], "\(place).grants[].dataKey", plaintextCount: 32) else {
        throw VaultError.integrity("\(place).grants[].dataKey is missing")
      }
      return Grant(key: key, sealedDataKey: sealed)
    }
    return AgentCredential(
      id: id, display: display, secretHash: hash, notAfter: notAfter, retireAt: retireAt,
      sealedSlotKeyForOwner: slotKey, slot: slot, grants: grants)
  }

  /// Who created or added a record (an agent's `createdBy`, a member's `addedBy`): 1 to 256
  /// bytes, nothing `DisplaySafety` calls unsafe.
  static func userName(_ value: JSONValue?, _ place: String) throws -> String {
    guard case .string(let name)? = value, !name.isEmpty, name.utf8.count <= 256, DisplaySafety.isClean(name) else {
      throw VaultError.integrity("\(place) is not a user name")
    }
    return name
  }

  private static func optionalTimestamp(_ value: JSONValue?, _ place: String) throws -> Timestamp? {
    if case .null? = value { return nil }
    return try timestamp(value, place)
  }

  /// A sealed 32-byte key (60 bytes decoded), or nil for JSON null.
  private static func optionalSealed(_ value: JSONValue?, _ place: String, plaintextCount: Int) throws -> [UInt8]? {
    if case .null? = value { return nil }
    let bytes = try base64(value, place)
    guard bytes.count == AESGCM.nonceByteCount + plaintextCount + AESGCM.tagByteCount else {
      throw VaultError.integrity("'\(place)' has the wrong length")
    }
    return bytes
  }

  static func timestamp(_ value: JSONValue?, _ place: String) throws -> Timestamp {
    guard case .string(let text)? = value, let timestamp = Timestamp(rfc3339: text) else {
      throw VaultError.integrity("'\(place)' is not a UTC timestamp")
    }
    return timestamp
  }

  static func base64(_ value: JSONValue?, _ place: String) throws -> [UInt8] {
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
