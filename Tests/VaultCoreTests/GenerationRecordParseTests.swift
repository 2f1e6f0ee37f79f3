import XCTest

@testable import VaultCore

/// The generation record (`llm-vault-generation 1`, then `GENERATION HEX`) is read as bytes on
/// every unlock; it must accept and refuse exactly what the string reader it replaced did.
final class GenerationRecordParseTests: XCTestCase {
  /// The reader as it was: split into strings.
  private func reference(_ bytes: [UInt8]) -> GenerationRecords.Seen? {
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count == 3, lines[0] == GenerationRecords.magic, lines[2].isEmpty else { return nil }
    let fields = lines[1].split(separator: " ")
    guard fields.count == 2, let generation = UInt64(fields[0]), generation >= 1,
      let digest = Hex.decode(String(fields[1])), digest.count == 32, Hex.encode(digest) == fields[1]
    else { return nil }
    return GenerationRecords.Seen(generation: generation, headerDigest: digest)
  }

  func testTheByteReaderAgreesWithTheStringReader() throws {
    let hex = Hex.encode(try (0..<32).map { _ in UInt8.random(in: 0...255) })
    let magic = GenerationRecords.magic
    var texts = [
      "\(magic)\n7 \(hex)\n", "\(magic)\n1 \(hex)\n", "\(magic)\n0 \(hex)\n", "\(magic)\n+7 \(hex)\n",
      "\(magic)\n007 \(hex)\n", "\(magic)\n  7   \(hex)  \n", "\(magic)\n-7 \(hex)\n", "\(magic)\n+ \(hex)\n",
      "\(magic)\n7 \(hex.uppercased())\n", "\(magic)\n7 \(hex.dropLast())\n", "\(magic)\n7 \(hex)0\n",
      "\(magic)\n7 \(hex)", "\(magic)\n7 \(hex)\n\n", "\(magic)\n7\n\(hex)\n", "\(magic)\n7 \(hex) x\n",
      "\(magic)\n18446744073709551615 \(hex)\n", "\(magic)\n18446744073709551616 \(hex)\n",
      "\(magic)\n7\t\(hex)\n", "\(magic) \n7 \(hex)\n", "\(magic)\n\n", "\(magic)\n", "", "\n",
      "llm-vault-generation 2\n7 \(hex)\n", "\(magic)\n7x \(hex)\n", "\(magic)\n 7 \(hex)\n",
    ]
    // Every byte of a valid record changed to each of a few troublemakers.
    let valid = Array("\(magic)\n42 \(hex)\n".utf8)
    for index in valid.indices {
      for byte in [0x0A, 0x20, 0x2B, 0x30, 0x61, 0x47, 0x00] as [UInt8] {
        var edited = valid
        edited[index] = byte
        texts.append(String(decoding: edited, as: UTF8.self))
      }
    }
    for text in texts {
      let bytes = Array(text.utf8)
      let expected = reference(bytes)
      let found = GenerationRecords.parse(bytes)
      XCTAssertEqual(found?.generation, expected?.generation, text.debugDescription)
      XCTAssertEqual(found?.headerDigest, expected?.headerDigest, text.debugDescription)
    }
    XCTAssertEqual(GenerationRecords.parse(valid)?.generation, 42)
  }
}
