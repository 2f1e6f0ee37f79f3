import VaultCrypto

/// The plaintext of a run cache file (`RunCache`): what one `vault run` or `vault env` with an
/// agent key and no selectors planned and opened, so the next launch with the same token,
/// against the same unchanged vault file, injects it without parsing a key line or opening a
/// box. Binary, laid out in docs/FORMAT.md ("The run cache"): integers little-endian, strings
/// and values as a 32-bit length and their bytes.
struct RunCacheRecord {
  /// The vault file's generation, checked against the rollback record on every use.
  var generation: UInt64
  var terms: TokenTerms
  var plan: InjectionPlan
  /// By key id, every key of the plan.
  var values: [RecordID: SecretBytes]

  /// The encoding, built in wiped memory (it holds the values).
  func encoded() -> SecretBytes {
    var indexOfKey: [RecordID: Int] = [:]
    indexOfKey.reserveCapacity(plan.keys.count)
    for (index, key) in plan.keys.enumerated() { indexOfKey[key.id] = index }
    // Measured first, written second: the same walk with a writer that only counts.
    var counter = RunCacheWriter(into: nil)
    write(to: &counter, indexOfKey: indexOfKey)
    return SecretBytes(count: counter.offset) { buffer in
      var writer = RunCacheWriter(into: buffer)
      write(to: &writer, indexOfKey: indexOfKey)
    }
  }

  private func write(to writer: inout RunCacheWriter, indexOfKey: [RecordID: Int]) {
    writer.integer(generation)
    writer.string(terms.agentID)
    writer.string(terms.agentName)
    writer.time(terms.notAfter)
    writer.optionalTime(terms.retireAt)
    writer.optionalTime(terms.successorNotAfter)
    writer.integer(UInt32(plan.keys.count))
    for key in plan.keys {
      let words = key.id.words
      writer.integer(words.high)
      writer.integer(words.low)
      writer.string(key.name)
      writer.optionalString(key.provider)
      writer.strings(key.models)
      writer.strings(key.environmentNames)
      writer.string(key.masked)
      writer.time(key.created)
      writer.time(key.updated)
      // Every key of a plan was opened (`SecretsForRun.load`): a missing value would be a bug,
      // and an empty one written here would be injected.
      guard let value = values[key.id] else { preconditionFailure("a planned key without its value") }
      value.withUnsafeBytes { writer.bytes($0) }
    }
    writer.integer(UInt32(plan.entries.count))
    for entry in plan.entries {
      writer.string(entry.variable)
      guard let index = indexOfKey[entry.key.id] else { preconditionFailure("an entry whose key is not planned") }
      writer.integer(UInt32(index))
    }
  }

  /// Reads an encoding back; throws `malformed` at the first byte that does not fit, and for
  /// anything left over. The keys come back without their sealed boxes (their values come
  /// with them), and the plan is checked again as `InjectionPlan(cached:keys:)` says.
  /// Each value is a view into `plaintext` (no copy), which stays alive as long as one of them
  /// does; or, when `plaintext` could not be locked in RAM (one allocation past RLIMIT_MEMLOCK),
  /// a copy in the pooled secure memory a launch reading the vault would use, so a cached launch
  /// locks what a fresh one locks.
  static func decode(_ plaintext: SecretBytes) throws -> RunCacheRecord {
    try plaintext.withUnsafeBytes { try decode($0, viewing: plaintext) }
  }

  private static func decode(_ bytes: UnsafeRawBufferPointer, viewing plaintext: SecretBytes) throws
    -> RunCacheRecord
  {
    var reader = RunCacheReader(bytes)
    let generation: UInt64 = try reader.integer()
    let terms = TokenTerms(
      agentID: try reader.string(), agentName: try reader.string(), notAfter: try reader.time(),
      retireAt: try reader.optionalTime(), successorNotAfter: try reader.optionalTime())
    let keyCount = Int(try reader.integer() as UInt32)
    // Each key takes at least 40 bytes: a count past what is left is damage, not an allocation.
    guard keyCount <= reader.remaining / 40 else { throw RunCacheReader.Malformed() }
    var keys: [ProviderKey] = []
    var values: [RecordID: SecretBytes] = [:]
    keys.reserveCapacity(keyCount)
    values.reserveCapacity(keyCount)
    for _ in 0..<keyCount {
      let id = RecordID(words: (try reader.integer(), try reader.integer()))
      let key = ProviderKey(
        id: id, name: try reader.string(), provider: try reader.optionalString(), models: try reader.strings(),
        environmentNames: try reader.strings(), masked: try reader.string(), created: try reader.time(),
        updated: try reader.time(), sealedDataKey: [], sealedValue: [])
      let value = try reader.bytes()
      if plaintext.isLocked {
        let start = value.baseAddress.map { $0 - bytes.baseAddress! } ?? 0
        values[id] = SecretBytes(viewing: plaintext, range: start..<(start + value.count))
      } else {
        values[id] = SecretBytes(count: value.count) { $0.copyMemory(from: value) }
      }
      keys.append(key)
    }
    let entryCount = Int(try reader.integer() as UInt32)
    guard entryCount <= reader.remaining / 8 else { throw RunCacheReader.Malformed() }
    var entries: [InjectionPlan.CachedEntry] = []
    entries.reserveCapacity(entryCount)
    for _ in 0..<entryCount {
      let variable = try reader.string()
      let index = Int(try reader.integer() as UInt32)
      guard index < keys.count else { throw RunCacheReader.Malformed() }
      entries.append(InjectionPlan.CachedEntry(variable: variable, keyIndex: index))
    }
    guard reader.remaining == 0 else { throw RunCacheReader.Malformed() }
    return RunCacheRecord(
      generation: generation, terms: terms, plan: try InjectionPlan(cached: entries, keys: keys), values: values)
  }
}

/// Appends the run cache's fields to a buffer, or only counts their bytes (`into: nil`).
struct RunCacheWriter {
  private let buffer: UnsafeMutableRawBufferPointer?
  private(set) var offset = 0

  init(into buffer: UnsafeMutableRawBufferPointer?) {
    self.buffer = buffer
  }

  mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
    integer(UInt32(bytes.count))
    raw(bytes)
  }

  mutating func integer<Integer: FixedWidthInteger>(_ value: Integer) {
    withUnsafeBytes(of: value.littleEndian) { raw($0) }
  }

  mutating func string(_ text: String) {
    var text = text
    text.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
  }

  mutating func optionalString(_ text: String?) {
    integer(UInt8(text == nil ? 0 : 1))
    if let text { string(text) }
  }

  mutating func strings(_ texts: [String]) {
    integer(UInt32(texts.count))
    for text in texts { string(text) }
  }

  mutating func time(_ time: Timestamp) { integer(time.secondsSinceEpoch) }

  mutating func optionalTime(_ time: Timestamp?) {
    integer(UInt8(time == nil ? 0 : 1))
    if let time { self.time(time) }
  }

  private mutating func raw(_ bytes: UnsafeRawBufferPointer) {
    if let buffer, bytes.count > 0 {
      UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
    }
    offset += bytes.count
  }
}

/// Reads the run cache's fields, checking every length against what is left.
struct RunCacheReader {
  struct Malformed: Error {}

  private let buffer: UnsafeRawBufferPointer
  private var offset = 0

  init(_ buffer: UnsafeRawBufferPointer) {
    self.buffer = buffer
  }

  var remaining: Int { buffer.count - offset }

  mutating func integer<Integer: FixedWidthInteger>() throws -> Integer {
    let size = MemoryLayout<Integer>.size
    guard remaining >= size else { throw Malformed() }
    var value = Integer.zero
    withUnsafeMutableBytes(of: &value) {
      $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + size)]))
    }
    offset += size
    return Integer(littleEndian: value)
  }

  mutating func bytes() throws -> UnsafeRawBufferPointer {
    let count = Int(try integer() as UInt32)
    guard remaining >= count else { throw Malformed() }
    defer { offset += count }
    return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
  }

  /// Invalid UTF-8 is repaired, not refused: the record was sealed by a holder of the token, and
  /// every variable name is checked again (`InjectionPlan(cached:keys:)`). String(validating:)
  /// costs a run-time metadata look-up per call, thousands per launch.
  mutating func string() throws -> String {
    String(decoding: try bytes().bindMemory(to: UInt8.self), as: UTF8.self)
  }

  mutating func optionalString() throws -> String? {
    try flag() ? try string() : nil
  }

  mutating func strings() throws -> [String] {
    let count = Int(try integer() as UInt32)
    guard count <= remaining / 4 else { throw Malformed() }
    var texts: [String] = []
    texts.reserveCapacity(count)
    for _ in 0..<count { texts.append(try string()) }
    return texts
  }

  mutating func time() throws -> Timestamp { Timestamp(secondsSinceEpoch: try integer()) }

  mutating func optionalTime() throws -> Timestamp? {
    try flag() ? try time() : nil
  }

  private mutating func flag() throws -> Bool {
    switch try integer() as UInt8 {
    case 0: return false
    case 1: return true
    default: throw Malformed()
    }
  }
}
