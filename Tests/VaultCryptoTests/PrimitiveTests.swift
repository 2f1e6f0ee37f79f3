import Foundation
import Synchronization
import VaultCrypto
import XCTest

final class ConstantTimeEqualsTests: XCTestCase {
  func testEqual() {
    XCTAssertTrue(constantTimeEquals([1, 2, 3], [1, 2, 3]))
    let long = [UInt8](repeating: 0xa5, count: 1000)
    XCTAssertTrue(constantTimeEquals(long, long))
  }

  func testDifferent() {
    XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2, 4]))
    XCTAssertFalse(constantTimeEquals([0, 2, 3], [1, 2, 3]))
    // A single differing bit at every position of a 32-byte value.
    let value = [UInt8](repeating: 0x5a, count: 32)
    for index in value.indices {
      var other = value
      other[index] ^= 0x01
      XCTAssertFalse(constantTimeEquals(value, other), "position \(index)")
    }
  }

  func testDifferentLengths() {
    XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2]))
    XCTAssertFalse(constantTimeEquals([1, 2], [1, 2, 3]))
    XCTAssertFalse(constantTimeEquals([], [0]))
    XCTAssertFalse(constantTimeEquals([0], []))
  }

  func testEmpty() {
    XCTAssertTrue(constantTimeEquals([], []))
  }
}

final class SecretBytesTests: XCTestCase {
  func testCountAndCopyBytesRoundTrip() {
    let bytes: [UInt8] = [0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]
    let secret = SecretBytes(copying: bytes)
    XCTAssertEqual(secret.count, bytes.count)
    XCTAssertEqual(secret.copyBytes(), bytes)
    XCTAssertEqual(secret.withUnsafeBytes { Array($0) }, bytes)
  }

  func testCopyingASlice() {
    let bytes: [UInt8] = Array(0..<64)
    let secret = SecretBytes(copying: bytes[10..<20])
    XCTAssertEqual(secret.count, 10)
    XCTAssertEqual(secret.copyBytes(), Array(10..<20))
  }

  func testEmpty() {
    let secret = SecretBytes(copying: [UInt8]())
    XCTAssertEqual(secret.count, 0)
    XCTAssertEqual(secret.copyBytes(), [])
  }

  func testInitializerFillsInPlace() {
    let secret = SecretBytes(count: 4) { buffer in
      for index in buffer.indices { buffer[index] = UInt8(index * 3) }
    }
    XCTAssertEqual(secret.copyBytes(), [0, 3, 6, 9])
  }

  func testThrowingInitializerRethrows() {
    struct Refused: Error {}
    XCTAssertThrowsError(try SecretBytes(count: 8) { _ in throw Refused() }) { error in
      XCTAssertTrue(error is Refused)
    }
  }

  func testAViewReadsItsOwnersBytesAndKeepsItAlive() {
    var owner: SecretBytes? = SecretBytes(copying: Array(0..<64) as [UInt8])
    let view = SecretBytes(viewing: owner!, range: 10..<20)
    let empty = SecretBytes(viewing: owner!, range: 64..<64)
    owner = nil
    // The owner is gone from here; the view still reads its bytes, so it kept the owner alive.
    XCTAssertEqual(view.copyBytes(), Array(10..<20))
    XCTAssertEqual(view.count, 10)
    XCTAssertEqual(empty.count, 0)
    XCTAssertEqual(empty.copyBytes(), [])
  }
}

final class SecureRandomTests: XCTestCase {
  func testBytesCountsAndFreshness() throws {
    XCTAssertEqual(try SecureRandom.bytes(count: 0), [])
    let first = try SecureRandom.bytes(count: 32)
    let second = try SecureRandom.bytes(count: 32)
    XCTAssertEqual(first.count, 32)
    XCTAssertNotEqual(first, second, "two 256-bit draws collide with probability 2^-256")
  }

  func testSecretCountAndFreshness() throws {
    let first = try SecureRandom.secret(count: 32)
    let second = try SecureRandom.secret(count: 32)
    XCTAssertEqual(first.count, 32)
    XCTAssertNotEqual(first.copyBytes(), second.copyBytes())
    XCTAssertNotEqual(first.copyBytes(), [UInt8](repeating: 0, count: 32))
  }
}

final class SecureRandomPrepareTests: XCTestCase {
  /// A save readies OpenSSL's generator on the parsing thread (`SecureRandom.prepare`) and draws
  /// keys on the other: the draws on every thread stay fresh, and preparing twice, or on several
  /// threads at once, changes nothing.
  func testDrawsAfterPreparingOnOtherThreadsAreFreshOnEveryThread() throws {
    let group = DispatchGroup()
    for _ in 0..<4 {
      group.enter()
      Thread.detachNewThread {
        SecureRandom.prepare()
        SecureRandom.prepare()
        group.leave()
      }
    }
    XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
    let draws = Mutex<[[UInt8]]>([])
    for _ in 0..<4 {
      group.enter()
      Thread.detachNewThread {
        let drawn = (try? SecureRandom.secret(count: 32).copyBytes()) ?? []
        draws.withLock { $0.append(drawn) }
        group.leave()
      }
    }
    XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
    var all = draws.withLock { $0 }
    all.append(try SecureRandom.secret(count: 32).copyBytes())
    XCTAssertEqual(all.count, 5)
    XCTAssertTrue(all.allSatisfy { $0.count == 32 && $0 != [UInt8](repeating: 0, count: 32) })
    XCTAssertEqual(Set(all).count, 5, "five draws of 32 bytes, no two alike")
  }
}

final class SecureRandomNameBytesTests: XCTestCase {
  /// The random part of temporary file names: as many bytes as asked, and never the same twice
  /// (two equal draws of 16 bytes would mean the generator is broken, not unlucky).
  func testNameBytesHaveTheLengthAskedAndDiffer() throws {
    for count in [0, 1, 8, 16, 300] {
      XCTAssertEqual(try SecureRandom.nameBytes(count: count).count, count)
    }
    var seen = Set<[UInt8]>()
    for _ in 0..<64 {
      XCTAssertTrue(seen.insert(try SecureRandom.nameBytes(count: 16)).inserted)
    }
    // Not all zero: the buffer is filled, not just sized.
    XCTAssertTrue(seen.allSatisfy { $0.contains { $0 != 0 } })
  }
}
