import VaultCore
import XCTest

final class AgentTokenTests: XCTestCase {
  private let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

  func testCRC32KnownAnswers() {
    // The standard check value of CRC-32/ISO-HDLC, and zlib's crc32 of "The quick brown fox...".
    XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
    XCTAssertEqual(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
  }

  func testBase62RoundTripsAtFixedWidth() {
    XCTAssertEqual(Base62.width(forByteCount: 4), 6)
    XCTAssertEqual(Base62.width(forByteCount: 8), 11)
    XCTAssertEqual(Base62.width(forByteCount: 32), 43)
    XCTAssertEqual(Base62.encode([0, 0, 0, 0], width: 6), "000000")
    XCTAssertEqual(Base62.encode([0xFF, 0xFF, 0xFF, 0xFF], width: 6), "4gfFC3")
    XCTAssertEqual(Base62.decode(Array("4gfFC3".utf8), byteCount: 4), [0xFF, 0xFF, 0xFF, 0xFF])
    // One past 2^32 - 1 does not fit in four bytes.
    XCTAssertNil(Base62.decode(Array("4gfFC4".utf8), byteCount: 4))
    XCTAssertNil(Base62.decode(Array("4gf-C3".utf8), byteCount: 4))
  }

  /// Two thousand (it was 10,000): ids are 64 random bits, so any repeat means a broken generator,
  /// and about 30 of the secrets still start with a 0 digit, the fixed-width edge.
  func testTwoThousandTokensRoundTripWithTheRightShape() throws {
    var ids = Set<String>()
    for _ in 0..<2_000 {
      let token = try AgentToken.generate()
      let text = token.text.copyBytes()
      XCTAssertEqual(text.count, AgentToken.length)
      XCTAssertEqual(Array(text.prefix(3)), Array("vk_".utf8))
      XCTAssertTrue(text.dropFirst(3).allSatisfy { base62.contains($0) })
      let parsed = try AgentToken.parse(text)
      XCTAssertEqual(parsed.id, token.id)
      XCTAssertEqual(parsed.secret.copyBytes(), token.secret.copyBytes())
      XCTAssertEqual(parsed.secretHash, token.secretHash)
      ids.insert(token.id)
    }
    XCTAssertEqual(ids.count, 2_000)
    XCTAssertEqual(AgentToken.length, 63)
  }

  func testEverySingleCharacterChangeAndEveryTruncationIsMalformed() throws {
    // Every position of 20 tokens changed to every other base62 character and to a few others;
    // a random change at every position of 1,000 more; every truncation of all of them.
    // Counted, then asserted once: a million XCTAsserts would dominate the run.
    // Twenty exhaustive tokens suffice, as which token it is cannot matter: a CRC-32 catches
    // every change confined to 32 consecutive bits, and a changed checksum digit decodes to
    // another checksum or to none. The random ones vary the contents. (It was 50 and 10,000:
    // more run time, no more cases.)
    var generator = SystemRandomNumberGenerator()
    let others = base62 + Array("_-+/= .".utf8)
    var tried = 0
    var accepted = 0
    var otherErrors = 0
    func expectMalformed(_ bytes: [UInt8]) {
      tried += 1
      do {
        _ = try AgentToken.parse(bytes)
        accepted += 1
      } catch let error as AgentAccessError where error == .malformed {
      } catch {
        otherErrors += 1
      }
    }
    for round in 0..<1_020 {
      let text = try AgentToken.generate().text.copyBytes()
      for position in text.indices {
        if round < 20 {
          for replacement in others where replacement != text[position] {
            var changed = text
            changed[position] = replacement
            expectMalformed(changed)
          }
        } else {
          var changed = text
          changed[position] = randomOther(than: text[position], from: others, using: &generator)
          expectMalformed(changed)
        }
      }
      for length in 0..<text.count { expectMalformed(Array(text.prefix(length))) }
    }
    XCTAssertEqual(accepted, 0)
    XCTAssertEqual(otherErrors, 0)
    XCTAssertEqual(tried, 20 * 63 * 68 + 1_000 * 63 + 1_020 * 63)
  }

  func testSurroundingNewlineIsIgnoredButInnerSpaceIsNot() throws {
    let token = try AgentToken.generate()
    XCTAssertEqual(try AgentToken.parse(token.text.copyBytes() + [0x0A]).id, token.id)
    var spaced = token.text.copyBytes()
    spaced.insert(0x20, at: 10)
    XCTAssertThrowsError(try AgentToken.parse(spaced))
  }

  func testDisplayIsFirstFourAndLastFour() throws {
    let token = try AgentToken.generate()
    let text = String(decoding: token.text.copyBytes(), as: UTF8.self)
    XCTAssertEqual(token.display, String(text.prefix(4)) + "…" + String(text.suffix(4)))
  }

  private func randomOther(than byte: UInt8, from pool: [UInt8], using generator: inout SystemRandomNumberGenerator)
    -> UInt8
  {
    while true {
      let candidate = pool.randomElement(using: &generator)!
      if candidate != byte { return candidate }
    }
  }
}
