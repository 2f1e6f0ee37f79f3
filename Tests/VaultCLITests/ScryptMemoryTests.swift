import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The `vault` binary gives OpenSSL its allocator before OpenSSL's first allocation (OpenSSL
/// refuses one after that): scrypt's buffer, read while scrypt runs, is advised for huge pages.
final class ScryptMemoryTests: XCTestCase {
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
      if let smaps = Self.readProcFile("/proc/\(verifying.pid)/smaps") {
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

  /// Whether `pid` has not exited yet (a child not waited for stays a zombie, which kill(pid, 0)
  /// still finds).
  static func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = readProcFile("/proc/\(pid)/stat"),
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
