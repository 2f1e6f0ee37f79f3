import XCTest

@testable import VaultCore

/// The rollback record's digest of the header is taken from the first two lines alone after a
/// save; it must be the digest the full reader gives, and refuse a file whose line 2 is not a
/// header.
final class HeaderDigestTests: XCTestCase {
  func testTheDigestFromTwoLinesIsTheFullReadersDigest() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("ONE", "first-value-0123456789", provider: "openai")
    let bytes = try vault.bytes()
    XCTAssertEqual(try VaultCodec.headerDigest(bytes), try VaultCodec.decode(bytes).headerDigest)
    XCTAssertEqual(try VaultFileLayout.header(in: bytes), try VaultFileLayout(bytes).header)
    let text = String(decoding: bytes, as: UTF8.self)
    for broken in [
      text.replacingOccurrences(of: "\n\"vault\":", with: "\n\"vaulx\":"),
      text.replacingOccurrences(of: "}},\n\"keys\"", with: "}}\n\"keys\""),
      String(text.prefix { $0 != "\n" }), "",
    ] {
      XCTAssertThrowsError(try VaultCodec.headerDigest(Array(broken.utf8)), "accepted: \(broken.prefix(40))")
    }
  }
}
