import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault` gives OpenSSL an allocator that backs scrypt's one large buffer (128·r·N bytes) with
/// transparent huge pages, so a passphrase unlock takes tens of page faults for it instead of
/// one per 4 KiB page. Counted from outside: the minor faults of the real binary.
final class ScryptMemoryTests: XCTestCase {
  func testTheScryptBufferTakesHugePagesWhereTheKernelOffersThem() throws {
    let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
    try XCTSkipUnless(
      mode.contains("[madvise]") || mode.contains("[always]"), "transparent huge pages are off here: \(mode)")
    let sandbox = try VaultSandbox()
    // N=2^16: a 64 MiB buffer, 16,384 faults in 4 KiB pages, 32 in 2 MiB ones.
    let created = try sandbox.run(["init", "--scrypt-log-n", "16"])
    XCTAssertEqual(created.status, 0, created.stderrText)
    var before = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &before)
    let verified = try sandbox.run(["verify"])
    var after = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &after)
    XCTAssertEqual(verified.status, 0, verified.stderrText)
    let faults = after.ru_minflt - before.ru_minflt
    XCTAssertLessThan(faults, 8_000, "vault verify took \(faults) page faults: scrypt's buffer was not on huge pages")
  }
}
