import XCTest

@testable import VaultCrypto

/// Secrets share locked chunks; none may overlap another or lose its bytes as chunks fill up,
/// empty out and are freed.
final class SecureArenaTests: XCTestCase {
  func testManySecretsOfManySizesKeepTheirBytesAcrossChunks() {
    var kept: [(SecretBytes, [UInt8])] = []
    var serial: UInt32 = 0
    for round in 0..<4 {
      for index in 0..<1_500 {
        let size = [0, 1, 15, 16, 17, 32, 60, 200, 4_096, 4_097, 5_000][(index + round) % 11]
        serial &+= 1
        // A pattern unique to this secret: its serial number, repeated.
        let stamp = withUnsafeBytes(of: serial) { Array($0) }
        let bytes = [UInt8]((0..<size).map { stamp[$0 % 4] &+ UInt8(truncatingIfNeeded: $0 / 4) })
        kept.append((SecretBytes(copying: bytes), bytes))
      }
      // Release every other secret, so chunks empty out while others still hold live slots.
      kept = kept.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
      for (secret, bytes) in kept where secret.copyBytes() != bytes {
        XCTFail("a secret of \(bytes.count) bytes changed")
        return
      }
    }
    XCTAssertGreaterThan(kept.count, 100)
  }

  func testSecretsFromTheSameChunkDoNotOverlap() {
    let first = SecretBytes(copying: [UInt8](repeating: 0xAA, count: 40))
    let second = SecretBytes(copying: [UInt8](repeating: 0x55, count: 40))
    XCTAssertEqual(first.copyBytes(), [UInt8](repeating: 0xAA, count: 40))
    XCTAssertEqual(second.copyBytes(), [UInt8](repeating: 0x55, count: 40))
    let distance = first.withUnsafeBytes { a in second.withUnsafeBytes { b in abs(a.baseAddress! - b.baseAddress!) } }
    XCTAssertGreaterThanOrEqual(distance, 40)
  }
}
