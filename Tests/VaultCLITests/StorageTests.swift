import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Where the vault lives and how its file is guarded.
final class StorageLocationTests: XCTestCase {
  func testDefaultPathUnderXDGDataHome() throws {
    let sandbox = try VaultSandbox()
    let dataHome = sandbox.root + "/xdg-data"
    let environment: [String: String?] = ["VAULT_FILE": nil, "XDG_DATA_HOME": dataHome]
    let created = try sandbox.run(["init"] + TestKDF.options, environment: environment)
    XCTAssertEqual(created.status, 0, created.stderrText)
    let expected = dataHome + "/llm-vault/vault.json"
    XCTAssertEqual(fileType(expected), S_IFREG)
    XCTAssertEqual(fileMode(expected), 0o600)
    XCTAssertEqual(fileMode(dataHome + "/llm-vault"), 0o700)
    XCTAssertFalse(fileExists(sandbox.vaultPath))
    XCTAssertFalse(fileExists(sandbox.root + "/.local/share/llm-vault/vault.json"))

    let value = fakeSecret()
    let added = try sandbox.run(["add", "DATA_HOME_TEST_KEY"], stdin: Array(value.utf8), environment: environment)
    XCTAssertEqual(added.status, 0, added.stderrText)
    XCTAssertEqual(try sandbox.getValue("DATA_HOME_TEST_KEY", environment: environment), Array(value.utf8))
    XCTAssertEqual(try sandbox.getValue("DATA_HOME_TEST_KEY", environment: ["VAULT_FILE": expected]), Array(value.utf8))
  }

  func testDefaultPathUnderHomeWhenNoXDGDataHome() throws {
    let sandbox = try VaultSandbox()
    let environment: [String: String?] = ["VAULT_FILE": nil, "XDG_DATA_HOME": nil]
    let created = try sandbox.run(["init"] + TestKDF.options, environment: environment)
    XCTAssertEqual(created.status, 0, created.stderrText)
    let expected = sandbox.root + "/.local/share/llm-vault/vault.json"
    XCTAssertEqual(fileType(expected), S_IFREG)
    XCTAssertEqual(fileMode(expected), 0o600)
    XCTAssertEqual(fileMode(sandbox.root + "/.local/share/llm-vault"), 0o700)
    XCTAssertTrue(created.stderrText.contains(expected), created.stderrText)
    let list = try sandbox.run(["list", "--json"], environment: environment.merging(noPassphrase) { $1 })
    XCTAssertEqual(list.status, 0, list.stderrText)
  }

  func testARelativeXDGDataHomeIsIgnored() throws {
    let sandbox = try VaultSandbox()
    let environment: [String: String?] = ["VAULT_FILE": nil, "XDG_DATA_HOME": "relative/data"]
    let created = try sandbox.run(["init"] + TestKDF.options, environment: environment)
    XCTAssertEqual(created.status, 0, created.stderrText)
    XCTAssertEqual(fileType(sandbox.root + "/.local/share/llm-vault/vault.json"), S_IFREG)
  }

  func testAVaultDirectoryVaultCreatesIs0700() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(fileMode(sandbox.root + "/data"), 0o700)
    XCTAssertEqual(fileMode(sandbox.vaultPath), 0o600)
  }

  func testNoHomeAndNoVaultPathIsAUsageError() throws {
    let sandbox = try VaultSandbox()
    let environment: [String: String?] = ["VAULT_FILE": nil, "XDG_DATA_HOME": nil, "HOME": nil]
    assertFailure(try sandbox.run(["list"], environment: environment), 64)
    assertFailure(try sandbox.run(["init"] + TestKDF.options, environment: environment), 64)
  }

  func testFileOptionBeatsVaultFileWhichBeatsXDG() throws {
    let sandbox = try VaultSandbox()
    let dataHome = sandbox.root + "/xdg-data"
    let xdgVault = dataHome + "/llm-vault/vault.json"
    let optionVault = sandbox.root + "/option.json"
    let environment: [String: String?] = ["XDG_DATA_HOME": dataHome]

    let viaOption = try sandbox.run(["init"] + TestKDF.options + ["--file", optionVault], environment: environment)
    XCTAssertEqual(viaOption.status, 0, viaOption.stderrText)
    XCTAssertTrue(fileExists(optionVault))
    XCTAssertFalse(fileExists(sandbox.vaultPath), "--file did not win over VAULT_FILE")
    XCTAssertFalse(fileExists(xdgVault))

    let viaVariable = try sandbox.run(["init"] + TestKDF.options, environment: environment)
    XCTAssertEqual(viaVariable.status, 0, viaVariable.stderrText)
    XCTAssertTrue(fileExists(sandbox.vaultPath))
    XCTAssertFalse(fileExists(xdgVault), "VAULT_FILE did not win over XDG_DATA_HOME")

    let value = fakeSecret()
    let added = try sandbox.run(
      ["add", "ONLY_IN_OPTION", "--file", optionVault], stdin: Array(value.utf8), environment: environment)
    XCTAssertEqual(added.status, 0, added.stderrText)
    let inOption = try sandbox.run(["list", "--json", "--file", optionVault], environment: noPassphrase)
    XCTAssertEqual(Set(try jsonArray(inOption.stdout).compactMap { $0["name"] as? String }), ["ONLY_IN_OPTION"])
    XCTAssertEqual(try sandbox.listJSON().count, 0, "the key went to VAULT_FILE, not --file")
  }

  func testFileOptionSpellings() throws {
    let sandbox = try VaultSandbox()
    let other = sandbox.root + "/other.json"
    let created = try sandbox.run(["--file", other, "init"] + TestKDF.options)
    XCTAssertEqual(created.status, 0, created.stderrText)
    XCTAssertTrue(fileExists(other))
    XCTAssertFalse(fileExists(sandbox.vaultPath))
    let value = fakeSecret()
    let added = try sandbox.run(["add", "SPELLED", "--file=" + other], stdin: Array(value.utf8))
    XCTAssertEqual(added.status, 0, added.stderrText)
    let result = try sandbox.run(["--file=" + other, "get", "SPELLED"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdout, Array(value.utf8))
  }

  func testTheFileHoldsNoPlaintextValue() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("SECRET", value: value, ["--provider", "openai"])
    let bytes = try sandbox.readVault()
    XCTAssertFalse(contains(bytes, Array(value.utf8)), "the value is in the file in plaintext")
    XCTAssertFalse(contains(bytes, Array(VaultSandbox.passphrase.utf8)), "the passphrase is in the file")
  }

  func testWritesLeaveNoTemporaryFilesBehind() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("ONE", value: fakeSecret())
    XCTAssertEqual(try sandbox.run(["edit", "ONE", "--name", "TWO"]).status, 0)
    XCTAssertEqual(try sandbox.run(["rm", "--yes", "TWO"]).status, 0)
    let entries = try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/data")
    XCTAssertEqual(Set(entries).subtracting(["vault.json", "vault.json.lock"]), [], "\(entries)")
    if entries.contains("vault.json.lock") {
      XCTAssertEqual(
        fileMode(sandbox.root + "/data/vault.json.lock")! & 0o022, 0, "the lock file is writable by others")
    }
  }
}

final class StorageSafetyTests: XCTestCase {
  private var sandbox: VaultSandbox!
  private var value = ""

  override func setUpWithError() throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
    value = fakeSecret()
    try sandbox.addOK("MY_API", value: value)
  }

  override func tearDown() {
    sandbox = nil
  }

  /// Every kind of command, reading and writing.
  private var commands: [(arguments: [String], stdin: [UInt8]?)] {
    [
      (["list"], nil), (["list", "--json"], nil), (["search", "MY"], nil), (["show", "MY_API"], nil),
      (["get", "MY_API"], nil), (["add", "NEW_KEY"], Array(fakeSecret().utf8)),
      (["edit", "MY_API", "--provider", "openai"], nil), (["link", "MY_API", "--model", "o3"], nil),
      (["rm", "--yes", "MY_API"], nil), (["verify"], nil),
    ]
  }

  func testAVaultFileWritableByGroupOrOthersIsRefused() throws {
    for mode: mode_t in [0o620, 0o602, 0o666] {
      XCTAssertEqual(chmod(sandbox.vaultPath, mode), 0)
      for (arguments, stdin) in commands {
        let result = try sandbox.assertUnchanged { try sandbox.run(arguments, stdin: stdin) }
        assertFailure(result, 9)
        XCTAssertTrue(
          hintLine(result)?.contains("chmod") ?? false,
          "\(arguments) at \(String(mode, radix: 8)): \(result.stderrText)"
        )
        assertNoLeak(result, [value])
        XCTAssertEqual(fileMode(sandbox.vaultPath), mode, "vault changed the mode itself")
      }
    }
    XCTAssertEqual(chmod(sandbox.vaultPath, 0o600), 0)
    XCTAssertEqual(try sandbox.getValue("MY_API"), Array(value.utf8))
  }

  func testAVaultPathThatIsADirectoryIsRefused() throws {
    let directory = sandbox.root + "/a-directory"
    try makeDirectory(directory)
    for (arguments, stdin) in commands {
      let result = try sandbox.run(arguments, stdin: stdin, environment: ["VAULT_FILE": directory])
      assertFailure(result, 9, mentioning: [directory])
      XCTAssertNotNil(hintLine(result))
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
  }

  func testInitOntoADirectoryIsRefusedAsUnsafe() throws {
    let directory = sandbox.root + "/a-directory"
    try makeDirectory(directory)
    // The default cost: no low-cost warning, so the error is the first line.
    let result = try sandbox.run(["init"], environment: ["VAULT_FILE": directory])
    assertFailure(result, 9, mentioning: [directory])
    XCTAssertFalse(
      result.stderrText.contains("already exists"), "a directory is reported as an existing vault: \(result.stderrText)"
    )
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
  }

  func testAVaultPathThatIsAFIFOIsRefusedWithoutHanging() throws {
    let fifo = sandbox.root + "/a-fifo"
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    for (arguments, stdin) in commands {
      let result = try sandbox.run(arguments, stdin: stdin, environment: ["VAULT_FILE": fifo])
      assertFailure(result, 9, mentioning: [fifo])
    }
    XCTAssertEqual(fileType(fifo), S_IFIFO)
  }

  func testAVaultFileOwnedByAnotherUserIsRefused() throws {
    try XCTSkipUnless(geteuid() == 0, "needs root to give the file away")
    XCTAssertEqual(chown(sandbox.vaultPath, 65534, 65534), 0)
    for (arguments, stdin) in commands {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments, stdin: stdin) }
      assertFailure(result, 9)
      XCTAssertNotNil(hintLine(result), "\(arguments)")
      assertNoLeak(result, [value])
    }
  }

  func testAMissingVaultExits3WithAHintToInit() throws {
    let missing = sandbox.root + "/nowhere/vault.json"
    for (arguments, stdin) in commands + [(["passwd"], nil), (["import", "-"], Array("A_KEY=x\n".utf8))] {
      let result = try sandbox.run(arguments, stdin: stdin, environment: ["VAULT_FILE": missing])
      assertFailure(result, 3)
      XCTAssertTrue(hintLine(result)?.contains("vault init") ?? false, "\(arguments): \(result.stderrText)")
    }
    XCTAssertFalse(fileExists(missing))
    XCTAssertFalse(fileExists(sandbox.root + "/nowhere"))
  }

  func testAWriterGivesUpWithBusyWhileAnotherHoldsTheLock() throws {
    let lock = try HeldLock(resolvedPath(sandbox.vaultPath) + ".lock")
    let environment: [String: String?] = ["VAULT_LOCK_TIMEOUT": "0.3"]
    let newValue = fakeSecret()
    let writes: [(arguments: [String], stdin: [UInt8]?)] = [
      (["add", "NEW_KEY"], Array(newValue.utf8)), (["edit", "MY_API", "--name", "RENAMED"], nil),
      (["link", "MY_API", "--model", "o3"], nil), (["rm", "-y", "MY_API"], nil),
      (["import", "-"], Array("IMPORTED_KEY=\(newValue)\n".utf8)),
    ]
    for (arguments, stdin) in writes {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments, stdin: stdin, environment: environment) }
      assertFailure(result, 8, mentioning: ["busy"])
      assertNoLeak(result, [value, newValue])
    }
    // Readers do not need the lock.
    let list = try sandbox.run(["list", "--json"], environment: environment)
    XCTAssertEqual(list.status, 0, list.stderrText)
    XCTAssertEqual(try sandbox.getValue("MY_API", environment: environment), Array(value.utf8))

    lock.release()
    let after = try sandbox.run(["add", "NEW_KEY"], stdin: Array(newValue.utf8), environment: environment)
    XCTAssertEqual(after.status, 0, after.stderrText)
    XCTAssertEqual(try sandbox.getValue("NEW_KEY"), Array(newValue.utf8))
  }

  func testInitThroughADanglingUserSymlinkCreatesTheTarget() throws {
    let target = sandbox.root + "/synced/vault.json"
    try makeDirectory(sandbox.root + "/synced")
    let link = sandbox.root + "/link-to-new-vault.json"
    XCTAssertEqual(symlink(target, link), 0)
    let result = try sandbox.run(["init"] + TestKDF.options, environment: ["VAULT_FILE": link])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertFalse(result.stderrText.contains("already exists"), "no vault existed: \(result.stderrText)")
    XCTAssertEqual(fileType(link), S_IFLNK)
    XCTAssertEqual(fileType(target), S_IFREG)
    XCTAssertEqual(fileMode(target), 0o600)
  }

  func testWritingThroughAUserSymlinkReplacesTheTarget() throws {
    let link = sandbox.root + "/link-to-vault.json"
    XCTAssertEqual(symlink(sandbox.vaultPath, link), 0)
    let environment: [String: String?] = ["VAULT_FILE": link]
    let before = try sandbox.readVault()
    let newValue = fakeSecret()
    let added = try sandbox.run(["add", "VIA_LINK"], stdin: Array(newValue.utf8), environment: environment)
    XCTAssertEqual(added.status, 0, added.stderrText)
    let edited = try sandbox.run(["edit", "MY_API", "--provider", "openai"], environment: environment)
    XCTAssertEqual(edited.status, 0, edited.stderrText)

    XCTAssertEqual(fileType(link), S_IFLNK, "the symlink was replaced by a file")
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), sandbox.vaultPath)
    XCTAssertEqual(fileType(sandbox.vaultPath), S_IFREG)
    XCTAssertEqual(fileMode(sandbox.vaultPath), 0o600)
    XCTAssertNotEqual(try sandbox.readVault(), before, "the target was not updated")
    // The target, read directly, holds both changes.
    XCTAssertEqual(try sandbox.getValue("VIA_LINK"), Array(newValue.utf8))
    XCTAssertEqual(try sandbox.showJSON("MY_API")["provider"] as? String, "openai")
    XCTAssertEqual(try sandbox.getValue("MY_API", environment: environment), Array(value.utf8))
  }
}
