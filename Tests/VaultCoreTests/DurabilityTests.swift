import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// The review's point 11: skipping both fsyncs of a save went unnoticed, because a SIGKILL keeps
/// the page cache and crash tests cannot see the difference. These tests watch the calls: every
/// durable save is fsync (the temporary file), rename, fsync (the directory), in that order.
final class DurabilityTests: XCTestCase {
  func testEverySaveSyncsTheFileBeforeTheRenameAndTheDirectoryAfter() throws {
    var vault: TestVault?
    let creation = try tracingSystemCalls { vault = try TestVault() }
    XCTAssertEqual(creation, ["fsync", "rename", "fsync"], "vault init")
    let test = try XCTUnwrap(vault)
    defer { test.remove() }
    let update = try tracingSystemCalls { try test.add("MY_API", "sk-test-0123456789abcdef") }
    XCTAssertEqual(update, ["fsync", "rename", "fsync"], "an owner write")
    let replace = try tracingSystemCalls { try VaultFile.replace(test.directory + "/other", with: [1, 2, 3]) }
    XCTAssertEqual(replace, ["fsync", "rename", "fsync"], "VaultFile.replace")
  }

  /// The run cache and the usage log's header are saved without fsync, on purpose.
  func testANonDurableReplaceRenamesWithoutSyncing() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let events = try tracingSystemCalls {
      try VaultFile.replace(vault.directory + "/state", with: [1], durability: .none)
    }
    XCTAssertEqual(events, ["rename"])
  }

  /// The usage snapshot: its bytes before its name, so a power cut never leaves an empty one.
  func testAContentsReplaceSyncsTheFileButNotTheDirectory() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let events = try tracingSystemCalls {
      try VaultFile.replace(vault.directory + "/state", with: [1], durability: .contents)
    }
    XCTAssertEqual(events, ["fsync", "rename"])
    let fold = try tracingSystemCalls {
      _ = try UsageState.add(
        forVault: vault.directory + "/vault.json", agents: [:],
        keys: ["0123456789abcdef0123456789abcdef": GatewayUsageDelta(lastUsed: Timestamp(secondsSinceEpoch: 1))])
    }
    XCTAssertEqual(fold, ["fsync", "rename", "rename"], "a fold: the snapshot synced and renamed, then the log")
  }

  /// The generation record: its bytes synced before its name, never its directory (a power
  /// cut may bring back the record before, which the next authenticated read raises again).
  func testTheGenerationRecordSyncsItsBytesButNotItsDirectory() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let records = GenerationRecords(directory: vault.directory + "/generations")
    let id = [UInt8](repeating: 7, count: 16)
    let seen = GenerationRecords.Seen(generation: 3, headerDigest: [UInt8](repeating: 9, count: 32))
    let events = try tracingSystemCalls { try records.record(seen, vaultID: id) }
    XCTAssertEqual(events, ["fsync", "rename"])
    XCTAssertEqual(records.seen(vaultID: id), seen)
    // A lowering (`verify --accept-rollback`) syncs the directory too: nothing would lower the
    // record again if a power cut brought the higher one back.
    let lower = GenerationRecords.Seen(generation: 2, headerDigest: [UInt8](repeating: 8, count: 32))
    let lowering = try tracingSystemCalls { try records.record(lower, vaultID: id, lowering: true) }
    XCTAssertEqual(lowering, ["fsync", "rename", "fsync"])
    XCTAssertEqual(records.seen(vaultID: id), lower)
  }

  /// A large file replaced is held open across the rename and closed on a thread of its own
  /// (`LargeFileHold`): the save is the same, and no descriptor stays open.
  func testReplacingALargeFileLeavesItsNewBytesAndNoDescriptorOpen() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let path = vault.directory + "/large"
    try VaultFile.replace(path, with: [UInt8](repeating: 1, count: 2 << 20))
    func openDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
    let before = try openDescriptors()
    let events = try tracingSystemCalls { try VaultFile.replace(path, with: [UInt8](repeating: 2, count: 3 << 20)) }
    XCTAssertEqual(events, ["fsync", "rename", "fsync"])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(repeating: 2, count: 3 << 20))
    let deadline = Date().addingTimeInterval(5)
    while try openDescriptors() > before, Date() < deadline { usleep(1_000) }
    XCTAssertEqual(try openDescriptors(), before, "the replaced file's descriptor is closed")
  }
}

/// The durability calls `body` makes (`SystemCalls.trace`), in order.
func tracingSystemCalls(_ body: () throws -> Void) rethrows -> [String] {
  SystemCalls.trace.withLock { $0 = [] }
  defer { SystemCalls.trace.withLock { $0 = nil } }
  try body()
  return SystemCalls.trace.withLock { $0 ?? [] }
}
