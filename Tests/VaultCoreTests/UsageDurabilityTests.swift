import Foundation
import XCTest

@testable import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// A reviewer's findings on the usage log (merge b0a5fa2), each failing there: what a power cut
/// and a killed fold leave behind.
///
/// What a power cut leaves: a fold renames a temporary it never fsync'ed over `<vault>.state`.
/// ext4's auto_da_alloc writes the temporary's data out first only when the rename replaces an
/// existing file; the first fold (no snapshot yet), a fold after a set-aside, ext4 mounted
/// `noauto_da_alloc`, and XFS give no such guarantee, and the snapshot comes back as an empty
/// file (reproduced by the reviewer on an ext4 loop device, its image copied mid-flight). The
/// reader called it damaged and the next fold set it aside: the gateway's daily counts started
/// from zero. A fold now fsyncs the snapshot before its rename, and an empty or NUL-filled one
/// (an older `vault`'s) counts as missing.
final class UsageDurabilityTests: XCTestCase {
  private var directory = ""
  private var vaultPath: String { directory + "/vault.json" }
  private var statePath: String { vaultPath + ".state" }
  private var logPath: String { vaultPath + ".state.log" }
  private let key = RecordID(hex: "0123456789abcdef0123456789abcdef")!
  private let agent = RecordID(hex: "f123456789abcdef0123456789abcdef")!

  override func setUpWithError() throws {
    var template = Array((NSTemporaryDirectory() + "usage-review-XXXXXX").utf8CString)
    directory = String(cString: try XCTUnwrap(mkdtemp(&template)))
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func write(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(chmod(path, 0o600), 0)
  }

  private func exists(_ path: String) -> Bool { SystemCalls.pathStatus(path, followLinks: false) != nil }

  /// The state a power cut leaves after a fold that created the snapshot: both files empty (or
  /// all NUL on file systems that extend the size before the data). Not damage: nothing to set
  /// aside, no warning, and the gateway's next batch is counted on top of nothing lost.
  func testAnEmptyOrNULSnapshotLeftByAPowerCutIsNotSetAside() throws {
    for leftover in [[UInt8](), [UInt8](repeating: 0, count: 88)] {
      try write(statePath, leftover)
      try write(logPath, [])
      XCTAssertNil(UsageState.load(forVault: vaultPath).problem, "a reader calls \(leftover.count) bytes damaged")
      var delta = GatewayUsageDelta(lastUsed: Timestamp(secondsSinceEpoch: 86_400 * 20_000 + 10))
      delta.count(status: 200, tokensIn: 5, tokensOut: 7, at: delta.lastUsed)
      XCTAssertNil(
        try UsageState.add(forVault: vaultPath, agents: [agent.description: delta], keys: [:]),
        "the gateway's batch warns of a set-aside")
      XCTAssertFalse(exists(statePath + ".bad"), "the snapshot was set aside")
      let record = try XCTUnwrap(UsageState.read(forVault: vaultPath).agents[agent.description])
      XCTAssertEqual(record.daily(on: 20_000).requests, 1)
      try? FileManager.default.removeItem(atPath: statePath + ".bad")
    }
  }

  /// A fold killed before its rename leaves `.vault.json.state.tmp-*` (or `.state.log.tmp-*`);
  /// nothing ever removes them (RunCache and VaultStore clean only `.vault.json.tmp-*`). The next
  /// fold, under the state lock, is the one place that can.
  func testATemporaryLeftByAKilledFoldIsRemovedByTheNextFold() throws {
    XCTAssertNil(
      try UsageState.recordUse(forVault: vaultPath, agentID: nil, keyIDs: [key], at: Timestamp(secondsSinceEpoch: 1)))
    let stale = [
      directory + "/.vault.json.state.tmp-99999-0011223344556677",
      directory + "/.vault.json.state.log.tmp-99999-8899aabbccddeeff",
    ]
    for path in stale { try write(path, Array("llm-vault-usage 3 1\n".utf8)) }
    // A gateway batch always folds.
    var delta = GatewayUsageDelta(lastUsed: Timestamp(secondsSinceEpoch: 2))
    delta.count(status: 200, tokensIn: 0, tokensOut: 0, at: delta.lastUsed)
    XCTAssertNil(try UsageState.add(forVault: vaultPath, agents: [:], keys: [key.description: delta]))
    for path in stale { XCTAssertFalse(exists(path), "\(path) is still there") }
  }
}
