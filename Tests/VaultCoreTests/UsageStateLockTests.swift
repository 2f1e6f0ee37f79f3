import Foundation
import Synchronization
import XCTest

@testable import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// A run rewrites the state's spare in place, and the file a reader opened may have become the
/// spare meanwhile: so a reader takes `<vault>.state.lock` shared, and never reads while a writer
/// holds it.
final class UsageStateLockTests: XCTestCase {
  func testAReaderWaitsForTheWriterOfTheState() throws {
    let directory = NSTemporaryDirectory() + "usage-lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    XCTAssertEqual(mkdir(directory, 0o700), 0)
    defer { _ = try? FileManager.default.removeItem(atPath: directory) }
    let vault = directory + "/vault.json"
    let id = try RecordID.random()
    try UsageState.recordUse(forVault: vault, agentID: nil, keyIDs: [id], at: Timestamp(secondsSinceEpoch: 1000))
    XCTAssertEqual(UsageState.read(forVault: vault).keys[id.description]?.uses, 1)

    var writer: FileLock? = try FileLock(path: vault + ".state.lock", timeout: 1)
    let uses = Mutex<Int64?>(nil)
    let done = DispatchSemaphore(value: 0)
    Thread {
      let read = UsageState.read(forVault: vault).keys[id.description]?.uses
      uses.withLock { $0 = read }
      done.signal()
    }.start()
    // Ample time for an unlocked read of a one-line file.
    XCTAssertEqual(done.wait(timeout: .now() + 0.5), .timedOut, "the reader read while a writer held the lock")
    XCTAssertNotNil(writer)
    writer = nil
    XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the reader never got the lock")
    XCTAssertEqual(uses.withLock { $0 }, 1)
  }
}
