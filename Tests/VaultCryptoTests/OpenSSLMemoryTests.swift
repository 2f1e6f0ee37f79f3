import XCTest

@testable import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The allocator `vault` gives OpenSSL keeps `CRYPTO_malloc`'s contract, and puts a buffer of a
/// huge page or more on a huge-page boundary, advised for huge pages. (This test process keeps
/// OpenSSL's own allocator; the functions are called directly. ScryptMemoryTests checks that the
/// `vault` binary installs them.)
final class OpenSSLMemoryTests: XCTestCase {
  func testSmallAndEmptyRequestsFollowOpenSSLsDefault() throws {
    XCTAssertNil(OpenSSLMemory.allocate(0, nil, 0), "0 bytes: nil, as CRYPTO_malloc returns")
    let small = try XCTUnwrap(OpenSSLMemory.allocate(100, nil, 0))
    small.initializeMemory(as: UInt8.self, repeating: 0x5A, count: 100)
    // Grown through realloc, the bytes come along.
    let grown = try XCTUnwrap(OpenSSLMemory.reallocate(small, 5_000, nil, 0))
    XCTAssertEqual(Array(UnsafeRawBufferPointer(start: grown, count: 100)), [UInt8](repeating: 0x5A, count: 100))
    // realloc to 0 frees and returns nil; from nil it allocates.
    XCTAssertNil(OpenSSLMemory.reallocate(grown, 0, nil, 0))
    let fresh = try XCTUnwrap(OpenSSLMemory.reallocate(nil, 64, nil, 0))
    OpenSSLMemory.release(fresh, nil, 0)
    OpenSSLMemory.release(nil, nil, 0)
  }

  func testALargeBufferStartsOnAHugePageAndIsAdvisedForHugePages() throws {
    let count = 4 * OpenSSLMemory.hugePageSize + 4_096
    let large = try XCTUnwrap(OpenSSLMemory.allocate(count, nil, 0))
    defer { OpenSSLMemory.release(large, nil, 0) }
    XCTAssertEqual(Int(bitPattern: large) % OpenSSLMemory.hugePageSize, 0)
    // Every byte is usable, the last included.
    large.initializeMemory(as: UInt8.self, repeating: 0xA5, count: count)
    XCTAssertEqual(large.load(fromByteOffset: count - 1, as: UInt8.self), 0xA5)
    guard FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled") else {
      throw XCTSkip("this kernel has no transparent huge pages: madvise(MADV_HUGEPAGE) is refused")
    }
    let flags = try XCTUnwrap(Self.memoryFlags(containing: large), "no mapping in /proc/self/smaps holds the buffer")
    XCTAssertTrue(flags.contains("hg"), "VmFlags: \(flags)")
  }

  /// The `VmFlags` of the mapping of this process that holds `address`.
  static func memoryFlags(containing address: UnsafeMutableRawPointer) throws -> [String]? {
    let target = UInt(bitPattern: address)
    var inside = false
    for line in try XCTUnwrap(readProcFile("/proc/self/smaps")).split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
        let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
        inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
      } else if inside, fields.first == "VmFlags:" {
        return fields.dropFirst().map(String.init)
      }
    }
    return nil
  }

  /// A file of /proc read to its end (Foundation's String(contentsOfFile:) stops after the
  /// first read, one page of smaps).
  static func readProcFile(_ path: String) -> String? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0, errno == EINTR { continue }
      guard count >= 0 else { return nil }
      if count == 0 { return String(decoding: bytes, as: UTF8.self) }
      bytes += chunk[0..<count]
    }
  }
}
