import VaultCrypto

/// The plaintext of a run cache file (`RunCache`): what one `vault run` or `vault env` with an
/// agent key and no selectors injected, so the next launch with the same token, against the
/// same unchanged vault file, injects it without parsing a key line or opening a box. Binary,
/// laid out in docs/FORMAT.md ("The run cache"): integers little-endian, strings and values as a
/// 32-bit length and their bytes.
struct RunCacheRecord {
  /// The vault file's generation, checked against the rollback record on every use.
  var generation: UInt64
  var terms: TokenTerms
  /// Every key with its value, and every variable.
  var injection: Injection

  /// The encoding, built in wiped memory (it holds the values).
  func encoded() -> SecretBytes {
    // Measured first, written second: the same walk with a writer that only counts.
    var counter = RunCacheWriter(into: nil)
    write(to: &counter)
    return SecretBytes(count: counter.offset) { buffer in
      var writer = RunCacheWriter(into: buffer)
      write(to: &writer)
    }
  }

  private func write(to writer: inout RunCacheWriter) {
    writer.integer(generation)
    writer.string(terms.agentID)
    writer.string(terms.agentName)
    writer.time(terms.notAfter)
    writer.optionalTime(terms.retireAt)
    writer.optionalTime(terms.successorNotAfter)
    // The keys in increasing order of id, which the usage line lists them in: a cached launch
    // then records its use without sorting a thousand ids, and the reader checks each key is
    // there once by comparing it with the one before.
    let order = injection.keys.indices.sorted { injection.keys[$0].id < injection.keys[$1].id }
    var position = [Int](repeating: 0, count: order.count)
    for (sorted, original) in order.enumerated() { position[original] = sorted }
    writer.integer(UInt32(injection.keys.count))
    for index in order {
      let key = injection.keys[index]
      let words = key.id.words
      writer.integer(words.high)
      writer.integer(words.low)
      writer.string(key.name)
      writer.string(key.masked)
      // Every key of a launch was opened (`SecretsForRun.load`): a missing value would be a bug,
      // and an empty one written here would be injected.
      guard let value = key.value else { preconditionFailure("a key of the launch without its value") }
      value.withUnsafeBytes { writer.bytes($0) }
    }
    writer.integer(UInt32(injection.variables.count))
    for variable in injection.variables {
      writer.string(variable.name)
      writer.integer(UInt32(position[variable.key]))
    }
  }

  /// Reads an encoding back; throws `malformed` at the first byte that does not fit, for keys
  /// out of order or repeated, and for anything left over. Every variable is checked again
  /// against the injection policy and for a second claimant, as `InjectionPlan` checks it: the
  /// record is sealed under a key the token's holder can derive, so it gets no more trust than
  /// the holder.
  ///
  /// Each value is a view into `plaintext` (no copy), which stays alive as long as one of them
  /// does, and each key's name and masked form are read from it when asked for; or, when
  /// `plaintext` could not be locked in RAM (one allocation past RLIMIT_MEMLOCK), a copy in the
  /// pooled secure memory a launch reading the vault would use (and the two strings made at
  /// once), so a cached launch locks what a fresh one locks.
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
    // Each key takes at least 28 bytes: a count past what is left is damage, not an allocation.
    guard keyCount <= reader.remaining / 28 else { throw RunCacheReader.Malformed() }
    var keys: [Injection.Key] = []
    keys.reserveCapacity(keyCount)
    // Where a field read from `bytes` lies in `plaintext`.
    func range(_ field: UnsafeRawBufferPointer) -> Range<Int> {
      let start = field.baseAddress.map { $0 - bytes.baseAddress! } ?? 0
      return start..<(start + field.count)
    }
    var previous: RecordID? = nil
    for _ in 0..<keyCount {
      let id = RecordID(words: (try reader.integer(), try reader.integer()))
      guard previous.map({ $0 < id }) ?? true else { throw RunCacheReader.Malformed() }
      previous = id
      let name = try reader.bytes()
      let masked = try reader.bytes()
      let value = try reader.bytes()
      if plaintext.isLocked {
        // Name and masked form stay where they are too, made into strings only if read.
        keys.append(
          Injection.Key(
            id: id, record: plaintext, name: range(name), masked: range(masked),
            value: SecretBytes(viewing: plaintext, range: range(value))))
      } else {
        // Nothing keeps an unlocked plaintext alive past this read.
        keys.append(
          Injection.Key(
            id: id, name: RunCacheReader.text(name), masked: RunCacheReader.text(masked),
            value: SecretBytes(count: value.count) { $0.copyMemory(from: value) }))
      }
    }
    let variableCount = Int(try reader.integer() as UInt32)
    guard variableCount <= reader.remaining / 8 else { throw RunCacheReader.Malformed() }
    var variables: [Injection.Variable] = []
    variables.reserveCapacity(variableCount)
    var claimed = Set<String>(minimumCapacity: variableCount)
    for _ in 0..<variableCount {
      let nameBytes = try reader.bytes().bindMemory(to: UInt8.self)
      let key = Int(try reader.integer() as UInt32)
      guard key < keys.count else { throw RunCacheReader.Malformed() }
      let name = String(decoding: nameBytes, as: UTF8.self)
      if !Names.isInjectable(bytes: nameBytes) {
        // The policy's own error, which says why.
        try Names.validateEnvironmentName(name)
        throw RunCacheReader.Malformed()
      }
      guard claimed.insert(name).inserted else {
        throw VaultError.injectionConflict("\(name) is claimed twice in the run cache")
      }
      variables.append(Injection.Variable(name: name, key: key))
    }
    guard reader.remaining == 0 else { throw RunCacheReader.Malformed() }
    return RunCacheRecord(generation: generation, terms: terms, injection: Injection(keys: keys, variables: variables))
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
    Self.text(try bytes())
  }

  /// The string these UTF-8 bytes spell, repaired.
  static func text(_ bytes: UnsafeRawBufferPointer) -> String {
    String(decoding: bytes.bindMemory(to: UInt8.self), as: UTF8.self)
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
