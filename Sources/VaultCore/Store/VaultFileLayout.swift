import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The fixed line layout of a version-1, -2 or -3 file (docs/FORMAT.md, "Layout"): where each record's
/// JSON lies, found without parsing any record. Full reads parse every line; an agent parses
/// only the lines it needs, which keeps a token's reads fast in a vault of 10,000 keys.
struct VaultFileLayout {
  static func firstLine(version: Int64) -> [UInt8] { Array("{\"format\":\"llm-vault\",\"version\":\(version),".utf8) }
  static let headerPrefix = Array("\"vault\":".utf8)
  static let membersOpen = Array("\"members\":[".utf8)
  static let keysOpen = Array("\"keys\":[".utf8)
  static let agentsOpen = Array("\"agents\":[".utf8)
  static let sectionClose = Array("],".utf8)

  /// The JSON object of the header, without `"vault":` and the trailing comma.
  let header: Range<Int>
  /// Each member's JSON object, without its trailing comma (version 3; empty before).
  let memberLines: [Range<Int>]
  /// Each provider key's JSON object, without its trailing comma.
  let keyLines: [Range<Int>]
  /// Each agent key's JSON object, without its trailing comma.
  let agentLines: [Range<Int>]
  /// The format version the first line names (1 to 3).
  let version: Int64
  /// How many leading bytes the checksum covers.
  let covered: Int
  let checksum: [UInt8]
  let mac: [UInt8]

  /// Splits `bytes` into lines and checks the skeleton and the suffix; `checksum` is read, not
  /// verified (`VaultCodec.checkedLayout` verifies it).
  init(_ bytes: [UInt8]) throws {
    let suffix = try VaultFileSuffix(bytes)
    covered = suffix.covered
    checksum = suffix.checksum
    mac = suffix.mac
    let lines = Self.lines(bytes, upTo: covered)
    func line(_ index: Int) -> ArraySlice<UInt8> { bytes[lines[index]] }
    func fail(_ what: String) -> VaultError { .integrity("the file's layout is broken: \(what)") }
    // At least: first line, header, "keys":[, ], "agents":[, ] (the suffix is not covered).
    guard lines.count >= 6 else { throw fail("too few lines") }
    guard let version = VaultCodec.readableVersions.first(where: { line(0).elementsEqual(Self.firstLine(version: $0)) })
    else { throw fail("first line") }
    self.version = version
    guard line(1).starts(with: Self.headerPrefix), line(1).last == UInt8(ascii: ",") else { throw fail("header line") }
    header = (lines[1].lowerBound + Self.headerPrefix.count)..<(lines[1].upperBound - 1)
    var index = 2
    func records() throws -> [Range<Int>] {
      var ranges: [Range<Int>] = []
      while index < lines.count, !line(index).elementsEqual(Self.sectionClose) {
        ranges.append(lines[index])
        index += 1
      }
      guard index < lines.count else { throw fail("unclosed section") }
      index += 1
      // Every record but the last ends with a comma; the last does not.
      for (position, range) in ranges.enumerated() {
        let hasComma = bytes[range.upperBound - 1] == UInt8(ascii: ",")
        guard hasComma == (position < ranges.count - 1) else { throw fail("record separators") }
      }
      return ranges.enumerated().map {
        $0.offset < ranges.count - 1 ? $0.element.lowerBound..<($0.element.upperBound - 1) : $0.element
      }
    }
    if version >= VaultCodec.teamFormatVersion {
      guard line(index).elementsEqual(Self.membersOpen) else { throw fail("\"members\":[ line") }
      index += 1
      memberLines = try records()
    } else {
      memberLines = []
    }
    guard index < lines.count, line(index).elementsEqual(Self.keysOpen) else { throw fail("\"keys\":[ line") }
    index += 1
    keyLines = try records()
    guard index < lines.count, line(index).elementsEqual(Self.agentsOpen) else { throw fail("\"agents\":[ line") }
    index += 1
    agentLines = try records()
    guard index == lines.count else { throw fail("text after the agents") }
  }

  /// The header's JSON object (line 2 after `"vault":`, without its comma), found by reading
  /// only the first two lines; the same range `init` gives for a file it accepts.
  static func header(in bytes: [UInt8]) throws -> Range<Int> {
    guard let first = bytes.firstIndex(of: 0x0A), let second = bytes[(first + 1)...].firstIndex(of: 0x0A),
      bytes[(first + 1)..<second].starts(with: headerPrefix), second - first - 1 > headerPrefix.count,
      bytes[second - 1] == UInt8(ascii: ",")
    else { throw VaultError.integrity("the file's layout is broken: header line") }
    return (first + 1 + headerPrefix.count)..<(second - 1)
  }

  /// Line ranges (without their LF) of `bytes[0..<end]`, which must end with LF.
  private static func lines(_ bytes: [UInt8], upTo end: Int) -> [Range<Int>] {
    var lines: [Range<Int>] = []
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      var start = 0
      while start < end, let found = memchr(base + start, 0x0A, end - start) {
        let newline = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
        lines.append(start..<newline)
        start = newline + 1
      }
      if start < end { lines.append(start..<end) }
    }
    return lines
  }

  /// The line of the provider key named `name`, found without parsing: every key line starts
  /// with `{"id":"<32 hex>","name":"` and names never need escaping.
  func keyLine(named name: String, in bytes: [UInt8]) -> (index: Int, range: Range<Int>)? {
    let prefix = Array("{\"id\":\"".utf8).count + 32 + Array("\",\"name\":\"".utf8).count
    let wanted = Array(name.utf8) + [UInt8(ascii: "\"")]
    for (index, range) in keyLines.enumerated() where range.count > prefix + wanted.count {
      let start = range.lowerBound + prefix
      if bytes[start..<(start + wanted.count)].elementsEqual(wanted) { return (index, range) }
    }
    return nil
  }

  func checksumMatches(_ bytes: [UInt8]) -> Bool {
    VaultFileSuffix.checksumMatches(bytes, covered: covered, checksum: checksum)
  }
}

/// The last 152 bytes: `"checksum":"<64 hex>","mac":"<64 hex>"}` and LF.
struct VaultFileSuffix {
  static let byteCount = 12 + 64 + 9 + 64 + 3
  static let checksumPrefix = Array("\"checksum\":\"".utf8)
  static let macPrefix = Array("\",\"mac\":\"".utf8)
  static let end = Array("\"}\n".utf8)

  let covered: Int
  let checksum: [UInt8]
  let mac: [UInt8]

  init(_ bytes: [UInt8]) throws {
    guard bytes.count > Self.byteCount else { throw VaultError.integrity("the file is truncated") }
    let start = bytes.count - Self.byteCount
    let checksumStart = start + Self.checksumPrefix.count
    let macPrefixStart = checksumStart + 64
    let macStart = macPrefixStart + Self.macPrefix.count
    let endStart = macStart + 64
    guard bytes[start..<checksumStart].elementsEqual(Self.checksumPrefix),
      bytes[macPrefixStart..<macStart].elementsEqual(Self.macPrefix), bytes[endStart...].elementsEqual(Self.end),
      let checksum = Self.lowercaseHex(bytes[checksumStart..<macPrefixStart]),
      let mac = Self.lowercaseHex(bytes[macStart..<endStart])
    else { throw VaultError.integrity("the file does not end with its checksum and MAC; it may be truncated") }
    self.covered = start
    self.checksum = checksum
    self.mac = mac
  }

  static func checksumMatches(_ bytes: [UInt8], covered: Int, checksum: [UInt8]) -> Bool {
    let actual = SHA256.hash(bytes[0..<covered])
    return constantTimeEquals(actual, checksum)
  }

  private static func lowercaseHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
    let text = String(decoding: digits, as: UTF8.self)
    guard let bytes = Hex.decode(text), Hex.encode(bytes) == text else { return nil }
    return bytes
  }
}
