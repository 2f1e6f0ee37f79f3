import Foundation
import XCTest

@testable import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// The usage snapshot and its log on disk: a use is one appended line, folded into the snapshot
/// at the log's size bound and by every gateway batch, and counted exactly once whatever a crash
/// between the fold's two renames leaves.
final class UsageFoldTests: XCTestCase {
  private var directory = ""
  private var vaultPath: String { directory + "/vault.json" }
  private var statePath: String { vaultPath + ".state" }
  private var logPath: String { vaultPath + ".state.log" }
  private let key = RecordID(hex: "0123456789abcdef0123456789abcdef")!
  private let other = RecordID(hex: "1123456789abcdef0123456789abcdef")!
  private let agent = RecordID(hex: "f123456789abcdef0123456789abcdef")!

  override func setUpWithError() throws {
    var template = Array((NSTemporaryDirectory() + "usage-fold-XXXXXX").utf8CString)
    directory = String(cString: try XCTUnwrap(mkdtemp(&template)))
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func bytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  private func write(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(chmod(path, 0o600), 0)
  }

  private func use(_ epoch: Int64, agent: RecordID? = nil, keys: [RecordID]? = nil) throws -> String? {
    try UsageState.recordUse(
      forVault: vaultPath, agentID: agent?.description, keyIDs: keys ?? [key],
      at: Timestamp(secondsSinceEpoch: epoch))
  }

  private func uses(_ id: RecordID) -> Int64? {
    UsageState.read(forVault: vaultPath).keys[id.description]?.uses
  }

  func testAUseAfterTheFirstIsOneLineAppendedAndTheSnapshotIsLeftAlone() throws {
    XCTAssertNil(try use(100, agent: agent))
    // The first use folds: there was no log to append to.
    XCTAssertEqual(
      String(decoding: try bytes(statePath), as: UTF8.self),
      "llm-vault-usage 3 1\nagent \(agent) 100 1 0 0 0 0 0 0 0 0 0\nkey \(key) 100 1 0 0 0 0 0 0 0 0 0\n")
    XCTAssertEqual(String(decoding: try bytes(logPath), as: UTF8.self), "llm-vault-usage-log 1 1\n")
    let snapshot = try bytes(statePath)
    let inode = try XCTUnwrap(SystemCalls.pathStatus(statePath)).st_ino
    XCTAssertNil(try use(200, agent: agent, keys: [other, key, other]))
    XCTAssertNil(try use(300))
    XCTAssertEqual(try bytes(statePath), snapshot, "the snapshot was rewritten")
    XCTAssertEqual(try XCTUnwrap(SystemCalls.pathStatus(statePath)).st_ino, inode, "the snapshot was replaced")
    XCTAssertEqual(
      String(decoding: try bytes(logPath), as: UTF8.self),
      "llm-vault-usage-log 1 1\nuse 200 \(agent) \(key) \(other) .\nuse 300 - \(key) .\n")
    let state = UsageState.read(forVault: vaultPath)
    XCTAssertEqual(state.keys[key.description]?.uses, 3)
    XCTAssertEqual(state.keys[key.description]?.lastUsed.secondsSinceEpoch, 300)
    XCTAssertEqual(state.keys[other.description]?.uses, 1, "a key named twice in one run counts once")
    XCTAssertEqual(state.agents[agent.description]?.uses, 2)
    XCTAssertEqual(state.agents[agent.description]?.lastUsed.secondsSinceEpoch, 200)
    var mode = stat()
    XCTAssertEqual(lstat(logPath, &mode), 0)
    XCTAssertEqual(mode.st_mode & 0o777, 0o600)
  }

  func testALogAtItsBoundIsFoldedIntoTheSnapshot() throws {
    XCTAssertNil(try use(1))
    // Whole lines up to just under the bound, as runs would have left them.
    let line = UsageLog.line(agent: nil, keys: [key], at: 2, after: 0x0A)
    let header = UsageLog.header(fold: 1)
    let count = (UsageLog.foldByteCount - header.count) / line.count
    try write(logPath, header + Array([[UInt8]](repeating: line, count: count).joined()))
    XCTAssertEqual(uses(key), Int64(count) + 1)
    XCTAssertNil(try use(3))
    XCTAssertEqual(String(decoding: try bytes(logPath), as: UTF8.self), "llm-vault-usage-log 1 2\n", "a new log")
    XCTAssertTrue(String(decoding: try bytes(statePath), as: UTF8.self).hasPrefix("llm-vault-usage 3 2\n"))
    let state = try UsageState.decode(try bytes(statePath))
    XCTAssertEqual(state.keys[key.description]?.uses, Int64(count) + 2, "the snapshot alone holds every use")
    XCTAssertEqual(state.keys[key.description]?.lastUsed.secondsSinceEpoch, 3)
    XCTAssertEqual(uses(key), Int64(count) + 2)
  }

  /// A crash after a fold renamed its snapshot and before it renamed its log: the old log's
  /// uses are in the snapshot, and its number says so.
  func testALogOfTheFoldBeforeIsNotCountedAgain() throws {
    let snapshot = "llm-vault-usage 3 8\nkey \(key) 50 5 0 0 0 0 0 0 0 0 0\n"
    let log = "llm-vault-usage-log 1 7\nuse 40 - \(key) .\nuse 50 - \(key) .\n"
    try write(statePath, Array(snapshot.utf8))
    try write(logPath, Array(log.utf8))
    XCTAssertEqual(uses(key), 5)
    XCTAssertNil(try use(60))
    XCTAssertEqual(uses(key), 6)
    XCTAssertEqual(String(decoding: try bytes(logPath), as: UTF8.self), "llm-vault-usage-log 1 9\n")
    XCTAssertEqual(try UsageState.decode(try bytes(statePath)).keys[key.description]?.uses, 6)

    // The same log under its own snapshot counts.
    try write(statePath, Array(snapshot.replacingOccurrences(of: " 3 8\n", with: " 3 7\n").utf8))
    try write(logPath, Array(log.utf8))
    XCTAssertEqual(uses(key), 7)
    XCTAssertNil(try use(60))
    XCTAssertEqual(uses(key), 8)
  }

  /// A snapshot of version 2 (or 1) is read as fold 0: the first use rewrites it as version 3.
  func testAnOlderSnapshotIsReadAndRewrittenOnce() throws {
    try write(statePath, Array("llm-vault-usage 2\nkey \(key) 50 5 1 1 0 0 10 20 0 0 0\n".utf8))
    XCTAssertNil(try use(60))
    XCTAssertEqual(
      String(decoding: try bytes(statePath), as: UTF8.self),
      "llm-vault-usage 3 1\nkey \(key) 60 6 1 1 0 0 10 20 0 0 0\n")
    try write(statePath, Array("llm-vault-usage 1\nkey \(key) 50 5\n".utf8))
    XCTAssertEqual(uses(key), 5, "a log of fold 1 is not counted on a version-1 snapshot")
    XCTAssertNil(try use(60))
    XCTAssertEqual(uses(key), 6)
  }

  func testTheGatewaysBatchFoldsTheLog() throws {
    XCTAssertNil(try use(1))
    XCTAssertNil(try use(2))
    var delta = GatewayUsageDelta(lastUsed: Timestamp(secondsSinceEpoch: 86_400 * 3))
    delta.count(status: 200, tokensIn: 5, tokensOut: 6, at: Timestamp(secondsSinceEpoch: 86_400 * 3))
    XCTAssertNil(try UsageState.add(forVault: vaultPath, agents: [:], keys: [key.description: delta]))
    XCTAssertEqual(String(decoding: try bytes(logPath), as: UTF8.self), "llm-vault-usage-log 1 2\n")
    let record = try XCTUnwrap(try UsageState.decode(try bytes(statePath)).keys[key.description])
    XCTAssertEqual(record.uses, 2)
    XCTAssertEqual(record.gateway.requests, 1)
    XCTAssertEqual(record.daily(on: 3).tokens, 11)
  }

  /// What a power cut leaves at the log's end costs the lines it spoiled and nothing else: no
  /// warning, no set-aside, and the gateway's counts in the snapshot stay.
  func testATornOrNULTailIsSkippedSilently() throws {
    var delta = GatewayUsageDelta(lastUsed: Timestamp(secondsSinceEpoch: 86_400 * 3))
    delta.count(status: 200, tokensIn: 5, tokensOut: 6, at: Timestamp(secondsSinceEpoch: 86_400 * 3))
    XCTAssertNil(try UsageState.add(forVault: vaultPath, agents: [:], keys: [key.description: delta]))
    XCTAssertNil(try use(10))
    let whole = try bytes(logPath)
    for (what, tail) in [
      ("torn", Array("use 11 - \(key.description.prefix(9))".utf8)),
      ("NUL", [UInt8](repeating: 0, count: 600)),
    ] {
      try write(logPath, whole + tail)
      XCTAssertEqual(uses(key), 1, what)
      XCTAssertNil(UsageState.load(forVault: vaultPath).logProblem, what)
      XCTAssertNil(try use(12), what)
      XCTAssertEqual(uses(key), 2, what)
      XCTAssertEqual(UsageState.read(forVault: vaultPath).keys[key.description]?.gateway.requests, 1, what)
      XCTAssertNil(SystemCalls.pathStatus(logPath + ".bad"), what)
      XCTAssertNil(SystemCalls.pathStatus(statePath + ".bad"), what)
    }
  }

  /// A log `vault` cannot use is set aside with a warning at the next use; the snapshot's counts
  /// go on.
  func testAnUnusableLogIsSetAsideAndCountingGoesOnFromTheSnapshot() throws {
    let huge = Array("llm-vault-usage-log 1 1\n".utf8) + [UInt8](repeating: 0x41, count: UsageLog.maximumByteCount)
    let plants: [(String, () throws -> Void)] = [
      ("damaged", { try self.write(self.logPath, Array("not a log\nuse 1 - \(self.key) .\n".utf8)) }),
      ("too large", { try self.write(self.logPath, huge) }),
      (
        "group-writable",
        {
          try self.write(self.logPath, UsageLog.header(fold: 1))
          chmod(self.logPath, 0o620)
        }
      ),
      ("a symbolic link", { XCTAssertEqual(symlink(self.directory + "/elsewhere", self.logPath), 0) }),
    ]
    for (what, plant) in plants {
      _ = unlink(logPath)
      _ = unlink(logPath + ".bad")
      try write(statePath, Array("llm-vault-usage 3 1\nkey \(key) 50 5 0 0 0 0 0 0 0 0 0\n".utf8))
      try plant()
      XCTAssertEqual(uses(key), 5, what)
      XCTAssertNotNil(UsageState.load(forVault: vaultPath).logProblem, what)
      let warning = try XCTUnwrap(try use(60), what)
      XCTAssertTrue(warning.contains("the usage log \(logPath)"), "\(what): \(warning)")
      XCTAssertTrue(warning.contains("set aside as \(logPath).bad"), "\(what): \(warning)")
      XCTAssertNotNil(SystemCalls.pathStatus(logPath + ".bad", followLinks: false), what)
      XCTAssertEqual(uses(key), 6, what)
      XCTAssertNil(try use(70), what)
      XCTAssertEqual(uses(key), 7, what)
    }
    XCTAssertNil(SystemCalls.pathStatus(directory + "/elsewhere", followLinks: false), "the link was followed")
  }

  func testAFIFOAtTheLogIsNeitherOpenedForLongNorKept() throws {
    XCTAssertNil(try use(1))
    _ = unlink(logPath)
    XCTAssertEqual(mkfifo(logPath, 0o600), 0)
    XCTAssertEqual(uses(key), 1, "a reader did not hang")
    XCTAssertNotNil(UsageState.load(forVault: vaultPath).logProblem)
    XCTAssertNil(try use(2))
    XCTAssertTrue(SystemCalls.isRegular(try XCTUnwrap(SystemCalls.pathStatus(logPath, followLinks: false))))
    XCTAssertEqual(uses(key), 2)
  }

  func testADirectoryAtTheLogFailsTheRecordAndChangesNothing() throws {
    XCTAssertNil(try use(1))
    _ = unlink(logPath)
    XCTAssertEqual(mkdir(logPath, 0o700), 0)
    let snapshot = try bytes(statePath)
    XCTAssertThrowsError(try use(2))
    XCTAssertEqual(try bytes(statePath), snapshot)
    XCTAssertEqual(uses(key), 1)
  }
}
