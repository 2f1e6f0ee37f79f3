import Foundation
import XCTest

@testable import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The allocator `vault` gives OpenSSL (`OpenSSLMemory`) keeps `CRYPTO_malloc`'s contract and
/// puts a buffer of a huge page or more on a huge-page boundary, advised for huge pages; and the
/// `vault` binary installs it before OpenSSL's first allocation (OpenSSL refuses one after that),
/// so scrypt's buffer, read while scrypt runs, is advised. (This test process keeps OpenSSL's own
/// allocator; the first tests call the functions directly.)
final class ScryptMemoryTests: XCTestCase {
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

  func testScryptsBufferInTheVaultProcessIsAdvisedForHugePages() throws {
    guard FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled") else {
      throw XCTSkip("this kernel has no transparent huge pages: madvise(MADV_HUGEPAGE) is refused")
    }
    let sandbox = try VaultSandbox()
    let created = try sandbox.run(["init"] + TestKDF.costOptions(17))
    XCTAssertEqual(created.status, 0, created.stderrText)
    // N=2^17, r=8: a 128 MiB buffer for about half a second, long enough to be seen in smaps.
    let bufferKiB = 128 * 8 * (1 << 17) / 1024
    let verifying = try sandbox.start(["verify"])
    var readable = false
    var largeSeen: [String] = []
    var advised = false
    // Read until an advised mapping shows or vault exits (a mapping caught between its mmap and
    // its madvise is read again).
    while !advised, Self.isRunning(verifying.pid) {
      // A non-dumpable process's smaps needs CAP_SYS_PTRACE to read; without it the test can
      // only skip.
      if let smaps = try? String(decoding: readFile("/proc/\(verifying.pid)/smaps"), as: UTF8.self) {
        readable = readable || !smaps.isEmpty
        let large = Self.flagsOfMappings(in: smaps, atLeastKiB: bufferKiB)
        advised = large.contains { $0.contains("hg") }
        largeSeen = large.first ?? largeSeen
      }
      if !advised { usleep(1_000) }
    }
    let result = try verifying.wait()
    XCTAssertEqual(result.status, 0, result.stderrText)
    guard readable else { throw XCTSkip("/proc/<pid>/smaps of a non-dumpable process is not readable here") }
    XCTAssertTrue(advised, "no mapping of scrypt's size advised for huge pages; last seen VmFlags: \(largeSeen)")
  }

  /// The `VmFlags` of the mapping of this process that holds `address`.
  static func memoryFlags(containing address: UnsafeMutableRawPointer) throws -> [String]? {
    let target = UInt(bitPattern: address)
    var inside = false
    for line in String(decoding: try readFile("/proc/self/smaps"), as: UTF8.self).split(separator: "\n") {
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

  /// A vault whose scrypt settings need more memory than the process may have: one clear line
  /// and its hint, exit 1, no value, the file as it was. (OpenSSL's own words for it were
  /// "unexpected failure: underlyingOpenSSLError(...malloc failure)", and `reason(N)` once every
  /// command but `serve` started OpenSSL without its error strings.) The limit is the smallest
  /// address space a `get` of a vault at N=2^10 works in, measured here, plus 16 MiB: less than
  /// the 64 MiB scrypt needs at N=2^16, so its buffer is the one allocation refused.
  func testAVaultNeedingMoreMemoryThanTheLimitSaysHowMuch() throws {
    let small = try VaultSandbox()
    try small.initVault()
    XCTAssertEqual(try small.add("ALPHA", value: "sk-small-0123456789abcdef").status, 0)
    let large = try VaultSandbox()
    XCTAssertEqual(try large.run(["init", "--scrypt-log-n", "16"]).status, 0)
    let secret = "sk-large-0123456789abcdef"
    XCTAssertEqual(try large.add("ALPHA", value: secret).status, 0)

    func get(_ sandbox: VaultSandbox, limitKiB: Int) throws -> RunResult {
      let script = "ulimit -v \"$1\" && exec \"$0\" get ALPHA"
      return try RunningVault(
        executable: "/bin/sh", arguments: ["-c", script, VaultSandbox.binary, String(limitKiB)],
        environment: sandbox.environment, stdin: nil, scratch: sandbox.root
      ).wait()
    }
    // The smallest limit, to 1 MiB, at which the small vault's `get` works twice in a row.
    var (low, high) = (16 << 10, 8 << 20)
    XCTAssertEqual(try get(small, limitKiB: high).status, 0, "a get within 8 GiB")
    while high - low > 1 << 10 {
      let middle = (low + high) / 2
      if try get(small, limitKiB: middle).status == 0, try get(small, limitKiB: middle).status == 0 {
        high = middle
      } else {
        low = middle
      }
    }
    let before = try large.readVault()
    let refused = try get(large, limitKiB: high + (16 << 10))
    XCTAssertEqual(refused.status, 1, refused.stderrText)
    XCTAssertEqual(refused.stdout, [])
    XCTAssertEqual(
      refused.stderrText.split(separator: "\n").first,
      "vault: error: scrypt could not get the 64 MiB of memory this vault's settings need (N=2^16, r=8)")
    XCTAssertTrue(refused.stderrText.contains("vault: hint: raise the memory limit"), refused.stderrText)
    XCTAssertFalse(contains(refused.allOutput, Array(secret.utf8)))
    XCTAssertEqual(try large.readVault(), before)
    // Without the limit the same command reads the value.
    XCTAssertEqual(try large.run(["get", "ALPHA"]).stdoutText, secret)
  }

  /// Whether `pid` has not exited yet (a child not waited for stays a zombie, which kill(pid, 0)
  /// still finds).
  static func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(decoding: readFile("/proc/\(pid)/stat"), as: UTF8.self),
      let end = stat.lastIndex(of: ")")
    else { return false }
    return stat[stat.index(after: end)...].split(separator: " ").first != "Z"
  }

  /// The `VmFlags` of each mapping in `smaps` of at least `atLeastKiB`.
  static func flagsOfMappings(in smaps: String, atLeastKiB: Int) -> [[String]] {
    var large = false
    var found: [[String]] = []
    for line in smaps.split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      if fields.first == "Size:", fields.count >= 2, let kib = Int(fields[1]) {
        large = kib >= atLeastKiB
      } else if large, fields.first == "VmFlags:" {
        found.append(fields.dropFirst().map(String.init))
      }
    }
    return found
  }
}
