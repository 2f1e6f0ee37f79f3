import VaultCrypto

/// Bech32 as BIP-173 specifies it (the original checksum, not Bech32m), with age's two
/// departures: no 90-character limit (age.md: "without length limits on the data part"), and
/// the data part is bytes (8-to-5-bit groups with zero padding, refused when not canonical).
///
/// A string is all lowercase or all uppercase, never mixed; the checksum is always computed over
/// the lowercase form. The data of an identity is a private key, so the internal forms decode
/// into and encode from `SecretBytes`, with their 5-bit groups in wiped scratch storage too.
public enum Bech32 {
  private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
  private static let charsetValues: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, byte) in charset.enumerated() { table[Int(byte)] = UInt8(index) }
    return table
  }()
  private static let checksumCount = 6

  /// `data` under the prefix `humanReadablePart`: lowercase, or uppercase when the prefix is.
  public static func encode(humanReadablePart: String, data: [UInt8]) throws -> String {
    let encoded = try data.withUnsafeBytes { try encode(humanReadablePart: humanReadablePart, data: $0) }
    return String(decoding: encoded.copyBytes(), as: UTF8.self)
  }

  /// The prefix (in the string's case) and the data bytes of `text`.
  public static func decode(_ text: String) throws -> (humanReadablePart: String, data: [UInt8]) {
    let decoded = try Array(text.utf8).withUnsafeBytes { try decode($0) }
    return (decoded.humanReadablePart, decoded.data.copyBytes())
  }

  /// Encodes into wiped storage (the UTF-8 of the Bech32 string), for private keys.
  static func encode(humanReadablePart: String, data: UnsafeRawBufferPointer) throws -> SecretBytes {
    let prefix = Array(humanReadablePart.utf8)
    guard !prefix.isEmpty, prefix.allSatisfy({ (33...126).contains($0) }) else {
      throw AgeError.malformedKey("a Bech32 prefix must be printable ASCII")
    }
    let hasLower = prefix.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    let hasUpper = prefix.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    guard !(hasLower && hasUpper) else { throw AgeError.malformedKey("a Bech32 prefix must not mix case") }
    let lowerPrefix = prefix.map(lowercased)
    let groupCount = (data.count * 8 + 4) / 5
    let groups = SecretBytes(count: groupCount) { groups in
      // 8-to-5-bit conversion with zero padding of the last group.
      var accumulator: UInt32 = 0
      var bits = 0
      var written = 0
      for byte in data {
        accumulator = (accumulator << 8 | UInt32(byte)) & 0xFFF
        bits += 8
        while bits >= 5 {
          bits -= 5
          groups[written] = UInt8(accumulator >> UInt32(bits) & 31)
          written += 1
        }
      }
      if bits > 0 { groups[written] = UInt8(accumulator << UInt32(5 - bits) & 31) }
    }
    var checksum = Checksum(lowercasePrefix: lowerPrefix)
    groups.withUnsafeBytes { for group in $0 { checksum.feed(group) } }
    let residue = checksum.finish()
    let total = prefix.count + 1 + groupCount + checksumCount
    return SecretBytes(count: total) { output in
      var index = 0
      func put(_ byte: UInt8) {
        output[index] = hasUpper ? uppercased(byte) : byte
        index += 1
      }
      for byte in lowerPrefix { put(byte) }
      put(UInt8(ascii: "1"))
      groups.withUnsafeBytes { for group in $0 { put(charset[Int(group)]) } }
      for position in 0..<checksumCount { put(charset[Int(residue >> UInt32(5 * (5 - position)) & 31)]) }
    }
  }

  /// Decodes the UTF-8 of a Bech32 string, the data into wiped storage.
  static func decode(_ text: UnsafeRawBufferPointer) throws -> (humanReadablePart: String, data: SecretBytes) {
    let hasLower = text.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    let hasUpper = text.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    guard !(hasLower && hasUpper) else { throw AgeError.malformedKey("Bech32 text mixes upper and lower case") }
    guard let separator = text.lastIndex(of: UInt8(ascii: "1")), separator >= 1,
      separator + 1 + checksumCount <= text.count
    else {
      throw AgeError.malformedKey("Bech32 separator '1' missing or misplaced")
    }
    let prefix = text[..<separator]
    guard prefix.allSatisfy({ (33...126).contains($0) }) else {
      throw AgeError.malformedKey("Bech32 prefix has a character outside printable ASCII")
    }
    let groupCount = text.count - separator - 1 - checksumCount
    var checksum = Checksum(lowercasePrefix: prefix.map(lowercased))
    // The 5-bit groups of the data part (without the checksum) are part of the key: wiped scratch.
    let groups = try SecretBytes(count: groupCount) { groups in
      for (offset, character) in text[(separator + 1)...].enumerated() {
        let value = charsetValues[Int(lowercased(character))]
        guard value != 0xFF else { throw AgeError.malformedKey("Bech32 data has a character outside its alphabet") }
        checksum.feed(value)
        if offset < groupCount { groups[offset] = value }
      }
    }
    guard checksum.residue == 1 else { throw AgeError.malformedKey("Bech32 checksum does not match") }
    // 5-to-8-bit conversion: at most four padding bits, and they must be zero.
    guard groupCount * 5 % 8 < 5 else { throw AgeError.malformedKey("Bech32 data has a whole padding group") }
    let data = try SecretBytes(count: groupCount * 5 / 8) { output in
      try groups.withUnsafeBytes { groups in
        var accumulator: UInt32 = 0
        var bits = 0
        var written = 0
        for group in groups {
          accumulator = (accumulator << 5 | UInt32(group)) & 0x1FFF
          bits += 5
          if bits >= 8 {
            bits -= 8
            output[written] = UInt8(accumulator >> UInt32(bits) & 0xFF)
            written += 1
          }
        }
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else {
          throw AgeError.malformedKey("Bech32 data has non-zero padding bits")
        }
      }
    }
    return (String(decoding: prefix, as: UTF8.self), data)
  }

  private static func lowercased(_ byte: UInt8) -> UInt8 {
    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
  }

  private static func uppercased(_ byte: UInt8) -> UInt8 {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
  }

  /// BIP-173's checksum polynomial, fed one 5-bit value at a time (no array of the key's groups).
  private struct Checksum {
    private static let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
    private(set) var residue: UInt32 = 1

    /// Starts with the prefix expanded as BIP-173 says: high bits, a zero, low bits.
    init(lowercasePrefix: [UInt8]) {
      for byte in lowercasePrefix { feed(byte >> 5) }
      feed(0)
      for byte in lowercasePrefix { feed(byte & 31) }
    }

    mutating func feed(_ value: UInt8) {
      let top = residue >> 25
      residue = (residue & 0x1ff_ffff) << 5 ^ UInt32(value)
      for index in 0..<5 where top >> UInt32(index) & 1 == 1 { residue ^= Self.generator[index] }
    }

    /// The six checksum values, packed: feeds six zeros and flips the constant 1.
    mutating func finish() -> UInt32 {
      for _ in 0..<6 { feed(0) }
      return residue ^ 1
    }
  }
}
