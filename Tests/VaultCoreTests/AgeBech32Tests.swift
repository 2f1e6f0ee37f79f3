import VaultCore
import VaultCrypto
import XCTest

/// Bech32 against BIP-173's test vectors (with age's departure: strings over 90 characters are
/// valid), and age's identity and recipient encodings against a known pair.
final class AgeBech32Tests: XCTestCase {
  /// BIP-173's valid strings: each decodes and re-encodes to itself, and a flipped data
  /// character is caught by the checksum.
  func testBIP173ValidStrings() throws {
    let valid = [
      "A12UEL5L",
      "a12uel5l",
      "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
      "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
      "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
      "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
      "?1ezyfcl",
      // Over BIP-173's 90 characters, which age allows (its recipients can be longer).
      "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    ]
    for text in valid {
      let (prefix, data) = try Bech32.decode(text)
      XCTAssertEqual(try Bech32.encode(humanReadablePart: prefix, data: data), text, "re-encoding \(text)")
      var characters = Array(text.utf8)
      let position = characters.lastIndex(of: UInt8(ascii: "1"))! + 1
      characters[position] ^= 1
      XCTAssertThrowsError(try Bech32.decode(String(decoding: characters, as: UTF8.self)), "flipped \(text)")
    }
  }

  /// The data of two valid strings, as bytes.
  func testBIP173DecodedData() throws {
    XCTAssertEqual(
      try Bech32.decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw").data,
      [0, 68, 50, 20, 199, 66, 84, 182, 53, 207, 132, 101, 58, 86, 215, 198, 117, 190, 119, 223])
    XCTAssertEqual(
      try Bech32.decode("11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j")
        .data,
      [UInt8](repeating: 0, count: 51))
    XCTAssertEqual(try Bech32.decode("A12UEL5L").humanReadablePart, "A", "the prefix keeps the string's case")
  }

  /// BIP-173's invalid strings, plus mixed case and a bad checksum.
  func testBIP173InvalidStrings() {
    let invalid = [
      "\u{20}1nwldj5",  // prefix character out of range
      "\u{7F}1axkwrx",  // prefix character out of range
      "\u{80}1eym55h",  // prefix character out of range
      "pzry9x0s0muk",  // no separator
      "1pzry9x0s0muk",  // empty prefix
      "x1b4n0q5v",  // invalid data character
      "li1dgmt3",  // too short checksum
      "de1lg7wt\u{FF}",  // invalid character in checksum
      "A1G7SGD8",  // checksum computed with the uppercase prefix
      "10a06t8",  // empty prefix
      "1qzzfhee",  // empty prefix
      "split1checkupstagehandshakeupstreamerranterredcaperred2y9e2w",  // bad checksum
      "s lit1checkupstagehandshakeupstreamerranterredcaperredp8hs2p",  // space in prefix
      "split1cheo2y9e2w",  // invalid data character
      "split1a2y9w",  // data part too short
      "A12uEL5L",  // mixed case
      "a12UEL5L",  // mixed case
    ]
    for text in invalid {
      XCTAssertThrowsError(try Bech32.decode(text), text.debugDescription) { error in
        guard case .malformedKey? = error as? AgeError else {
          return XCTFail("\(text.debugDescription): \(error) is not malformedKey")
        }
      }
    }
  }

  /// Byte data with zero-padding rules: lengths that leave one to four padding bits round-trip;
  /// a string whose data part leaves five or more bits, or non-zero padding, is refused.
  func testPaddingRules() throws {
    for count in 0...40 {
      let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 37 + count) }
      let text = try Bech32.encode(humanReadablePart: "test", data: data)
      XCTAssertEqual(try Bech32.decode(text).data, data, "\(count) bytes")
    }
    // "test1" + one data group "q" (5 bits, a whole padding group) with a valid checksum.
    XCTAssertThrowsError(try Bech32.decode(Self.withChecksum(prefix: "test", groups: [0])))
    // Two groups: 10 bits, 8 of data and 2 of padding; the padding bits set.
    XCTAssertNoThrow(try Bech32.decode(Self.withChecksum(prefix: "test", groups: [31, 28])))
    XCTAssertThrowsError(try Bech32.decode(Self.withChecksum(prefix: "test", groups: [31, 29])))
  }

  func testEncodingRefusesBadPrefixes() {
    XCTAssertThrowsError(try Bech32.encode(humanReadablePart: "", data: [1]))
    XCTAssertThrowsError(try Bech32.encode(humanReadablePart: "Mixed", data: [1]))
    XCTAssertThrowsError(try Bech32.encode(humanReadablePart: "sp ace", data: [1]))
    XCTAssertEqual(
      try Bech32.encode(humanReadablePart: "A", data: []), "A12UEL5L", "uppercase prefix, uppercase string")
  }

  /// The pair in age.md ("The X25519 recipient type"), which `age-keygen -y` also gives.
  func testIdentityAndRecipientOfTheSpecExample() throws {
    let identityText = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    let recipientText = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    let identity = try AgeIdentity(parsing: identityText)
    XCTAssertEqual(identity.recipient.encoded, recipientText)
    XCTAssertEqual(identity.encoded().copyBytes(), Array(identityText.utf8), "identity re-encodes to itself")
    let recipient = try AgeRecipient(parsing: recipientText)
    XCTAssertEqual(recipient, identity.recipient)
    XCTAssertEqual(recipient.description, recipientText)
  }

  /// The CCTV vectors' identity and the recipient `age-keygen -y` prints for it.
  func testIdentityOfTheVectors() throws {
    let identity = try AgeIdentity(
      parsing: "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0")
    XCTAssertEqual(identity.recipient.encoded, "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef")
  }

  /// As age: identities are uppercase `AGE-SECRET-KEY-`, recipients lowercase `age`, 32 bytes.
  func testWrongTypesCasesAndLengthsAreRefused() throws {
    let identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    let recipient = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    XCTAssertThrowsError(try AgeIdentity(parsing: identity.lowercased()), "lowercase identity")
    XCTAssertThrowsError(try AgeRecipient(parsing: recipient.uppercased()), "uppercase recipient")
    XCTAssertThrowsError(try AgeIdentity(parsing: recipient), "a recipient is not an identity")
    XCTAssertThrowsError(try AgeRecipient(parsing: identity), "an identity is not a recipient")
    let short = try Bech32.encode(humanReadablePart: "age", data: [UInt8](repeating: 7, count: 31))
    XCTAssertThrowsError(try AgeRecipient(parsing: short), "31-byte recipient")
    let long = try Bech32.encode(humanReadablePart: "AGE-SECRET-KEY-", data: [UInt8](repeating: 7, count: 33))
    XCTAssertThrowsError(try AgeIdentity(parsing: long), "33-byte identity")
    var flipped = Array(identity.utf8)
    flipped[20] = flipped[20] == UInt8(ascii: "Q") ? UInt8(ascii: "P") : UInt8(ascii: "Q")
    XCTAssertThrowsError(try AgeIdentity(parsing: String(decoding: flipped, as: UTF8.self)), "checksum")
  }

  /// The error for a bad identity says what is wrong, never the text it was given.
  func testIdentityErrorsDoNotRepeatTheKey() {
    let identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEQ"
    XCTAssertThrowsError(try AgeIdentity(parsing: identity)) { error in
      let text = "\(error) \((error as? AgeError)?.message ?? "")"
      XCTAssertFalse(text.contains("GFPYYSJZ"), "the error repeats key material")
      XCTAssertFalse(text.lowercased().contains("gfpyysjz"), "the error repeats key material")
    }
  }

  /// A Bech32 string with these 5-bit `groups` and a correct checksum, built here (BIP-173's
  /// reference polymod) so a padding case can be checked apart from the checksum.
  private static func withChecksum(prefix: String, groups: [UInt8]) -> String {
    let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
    func polymod(_ values: [UInt8]) -> UInt32 {
      var check: UInt32 = 1
      for value in values {
        let top = check >> 25
        check = (check & 0x1ff_ffff) << 5 ^ UInt32(value)
        for index in 0..<5 where top >> UInt32(index) & 1 == 1 { check ^= generator[index] }
      }
      return check
    }
    let bytes = Array(prefix.utf8)
    let expanded = bytes.map { $0 >> 5 } + [0] + bytes.map { $0 & 31 }
    let residue = polymod(expanded + groups + [0, 0, 0, 0, 0, 0]) ^ 1
    let checksum = (0..<6).map { UInt8(residue >> UInt32(5 * (5 - $0)) & 31) }
    return prefix + "1" + String(decoding: (groups + checksum).map { charset[Int($0)] }, as: UTF8.self)
  }
}
