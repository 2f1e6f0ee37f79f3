import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A save that runs out of disk leaves the old vault intact and says so. The disk is a small
/// tmpfs mounted for the test (skipped where mounting is not allowed).
final class DiskFullTests: XCTestCase {
  /// A tmpfs of `size` mounted in the sandbox (the caller unmounts it); skips the test where
  /// mounting is not allowed.
  private func smallDisk(in sandbox: VaultSandbox, size: String) throws -> String {
    let mountPoint = sandbox.root + "/small-disk"
    XCTAssertEqual(mkdir(mountPoint, 0o700), 0)
    guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=\(size),mode=0700") == 0 else {
      throw XCTSkip("cannot mount a tmpfs here (errno \(errno))")
    }
    return mountPoint
  }

  func testSaveOnAFullDiskKeepsTheOldVaultAndSaysSo() throws {
    let sandbox = try VaultSandbox()
    let mountPoint = try smallDisk(in: sandbox, size: "128k")
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

  /// A save with a passphrase file begins its temporary beside scrypt; a save that cannot continue
  /// it (a removal) writes the whole file into that same temporary, so room for one copy of the
  /// vault is enough, as before (a reviewer's finding: it wrote a second temporary).
  func testARemovalNeedsRoomForOneCopyOfTheVaultNotTwo() throws {
    let sandbox = try VaultSandbox()
    let mountPoint = try smallDisk(in: sandbox, size: "1m")
    defer { umount(mountPoint) }
    let vault = mountPoint + "/vault.json"
    sandbox.environment["VAULT_FILE"] = vault
    try sandbox.initVault()
    let dotenv = (0..<300).map { "KEY_\($0)=sk-disk-room-\($0)-0123456789abcdef" }.joined(separator: "\n") + "\n"
    let imported = try sandbox.run(["import", "-"], stdin: Array(dotenv.utf8))
    XCTAssertEqual(imported.status, 0, imported.stderrText)
    let size = try readFile(vault).count
    XCTAssertGreaterThan(size, 100_000)

    // Leave room for one and a half copies of the vault.
    var disk = statvfs()
    XCTAssertEqual(statvfs(mountPoint, &disk), 0)
    let free = Int(disk.f_bavail) * Int(disk.f_frsize)
    let filler = [UInt8](repeating: 0x41, count: free - size * 3 / 2)
    try writeFile(mountPoint + "/filler", filler, mode: 0o600)

    let removal = try sandbox.run(["rm", "KEY_150", "--yes"])
    XCTAssertEqual(removal.status, 0, removal.stderrText)
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertTrue(verify.stdoutText.hasPrefix("ok: 299 provider keys"), verify.stdoutText)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: mountPoint).filter { $0.contains(".tmp-") }
    XCTAssertEqual(leftovers, [])
  }
}
