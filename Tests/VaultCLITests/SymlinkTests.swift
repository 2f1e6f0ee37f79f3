import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Files `vault` creates beside the vault are never written through a symlink someone planted
/// in the directory (the vault path itself may be a symlink the user made: StorageTests).
final class SymlinkTests: XCTestCase {
  private func plantedSandbox() throws -> (VaultSandbox, victim: String) {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("MY_API", value: "sk-symlink-0123456789abcdef", ["--provider", "openai"]).status, 0)
    let victim = sandbox.root + "/victim"
    try writeFile(victim, Array("untouched\n".utf8), mode: 0o600)
    return (sandbox, victim)
  }

  func testAPlantedLockSymlinkIsNotFollowed() throws {
    let (sandbox, victim) = try plantedSandbox()
    let lock = sandbox.vaultPath + ".lock"
    unlink(lock)
    XCTAssertEqual(symlink(victim, lock), 0)
    let before = try sandbox.readVault()
    let result = try sandbox.add("SECOND", value: "sk-symlink-second-0123456789")
    XCTAssertEqual(result.status, 1, result.stderrText)
    XCTAssertTrue(result.stderrText.hasPrefix("vault: error: cannot open the lock file"), result.stderrText)
    XCTAssertEqual(try sandbox.readVault(), before)
    XCTAssertEqual(try readFile(victim), Array("untouched\n".utf8))
  }

  func testAPlantedStateSymlinkIsReplacedNotFollowed() throws {
    let (sandbox, victim) = try plantedSandbox()
    XCTAssertEqual(symlink(victim, sandbox.vaultPath + ".state"), 0)
    let result = try sandbox.run(["run", "--key", "MY_API", "--", "true"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(try readFile(victim), Array("untouched\n".utf8))
    var status = stat()
    XCTAssertEqual(lstat(sandbox.vaultPath + ".state", &status), 0)
    XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "the symlink was replaced by vault's own file")
  }

  func testAPlantedLogSymlinkIsSetAsideNotFollowed() throws {
    let (sandbox, victim) = try plantedSandbox()
    let log = sandbox.vaultPath + ".state.log"
    XCTAssertEqual(try sandbox.run(["run", "--key", "MY_API", "--", "true"]).status, 0)
    XCTAssertEqual(unlink(log), 0)
    XCTAssertEqual(symlink(victim, log), 0)
    for arguments in [["show", "MY_API"], ["doctor"], ["agent-key", "list"]] {
      XCTAssertNotEqual(try sandbox.run(arguments, environment: noPassphrase).status, 124, "\(arguments)")
    }
    let result = try sandbox.run(["run", "--key", "MY_API", "--", "true"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(result.stderrText.contains("set aside as \(log).bad"), result.stderrText)
    XCTAssertEqual(try readFile(victim), Array("untouched\n".utf8))
    var status = stat()
    XCTAssertEqual(lstat(log, &status), 0)
    XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "the symlink was replaced by vault's own file")
    XCTAssertEqual(lstat(log + ".bad", &status), 0)
    XCTAssertEqual(status.st_mode & S_IFMT, S_IFLNK, "the symlink itself was set aside")
  }

  func testAPlantedStateLockSymlinkOnlyCostsAWarning() throws {
    let (sandbox, victim) = try plantedSandbox()
    let planted = sandbox.root + "/not-created"
    XCTAssertEqual(symlink(planted, sandbox.vaultPath + ".state.lock"), 0)
    let result = try sandbox.run(["run", "--key", "MY_API", "--", "sh", "-c", "exit 3"])
    XCTAssertEqual(result.status, 3, result.stderrText)
    XCTAssertTrue(result.stderrText.contains("vault: warning: could not record this use"), result.stderrText)
    XCTAssertFalse(FileManager.default.fileExists(atPath: planted))
    XCTAssertEqual(try readFile(victim), Array("untouched\n".utf8))
  }
}
