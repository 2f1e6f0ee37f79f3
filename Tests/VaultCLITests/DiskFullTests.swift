import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A save that runs out of disk leaves the old vault intact and says so. The disk is a small
/// tmpfs mounted for the test (skipped where mounting is not allowed).
final class DiskFullTests: XCTestCase {
  func testSaveOnAFullDiskKeepsTheOldVaultAndSaysSo() throws {
    let sandbox = try VaultSandbox()
    let mountPoint = sandbox.root + "/small-disk"
    XCTAssertEqual(mkdir(mountPoint, 0o700), 0)
    guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=128k,mode=0700") == 0 else {
      throw XCTSkip("cannot mount a tmpfs here (errno \(errno))")
    }
    defer { umount(mountPoint) }
    sandbox.environment["VAULT_FILE"] = mountPoint + "/vault.json"
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("FIRST", value: "sk-disk-full-first-0123456789").status, 0)
    let before = try readFile(mountPoint + "/vault.json")

    // Fill the disk, then leave too little room for a copy of the vault.
    let filler = mountPoint + "/filler"
    let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    let block = [UInt8](repeating: 0x41, count: 1024)
    while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == block.count {}
    close(descriptor)

    let value = "sk-disk-full-second-" + String(repeating: "x", count: 4096)
    let result = try sandbox.add("SECOND", value: value)
    XCTAssertEqual(result.status, 1, result.stderrText)
    XCTAssertTrue(result.stderrText.hasPrefix("vault: error: disk full"), result.stderrText)
    XCTAssertTrue(result.stderrText.contains("was not changed"), result.stderrText)
    XCTAssertFalse(contains(result.allOutput, Array(value.utf8)))
    XCTAssertEqual(try readFile(mountPoint + "/vault.json"), before)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: mountPoint).filter { $0.contains(".tmp-") }
    XCTAssertEqual(leftovers, [], "a failed save leaves no temporary file")

    // With room again, the vault opens and takes the write.
    unlink(filler)
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
    XCTAssertEqual(try sandbox.add("SECOND", value: "sk-disk-full-second-0123456789").status, 0)
  }
}
