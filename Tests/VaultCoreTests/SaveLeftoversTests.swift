import Foundation
import XCTest

@testable import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// What a save read and wrote is freed on a detached thread (`SaveLeftovers`): it must be freed
/// all the same, and the caller's reference must not be the one left.
final class SaveLeftoversTests: XCTestCase {
  func testLeftoversAreFreedByTheThreadTheyAreHandedTo() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("KEY", "sk-test-value-0123456789")
    let locked = try vault.store.read()
    SaveLeftovers.freeingThreads.withLock { $0 = [:] }
    defer { SaveLeftovers.freeingThreads.withLock { $0 = nil } }
    weak var freed: SaveLeftovers?
    let identity: ObjectIdentifier
    do {
      let leftovers = SaveLeftovers(files: [locked], documents: [locked.document], pieces: [locked.bytes[...]])
      freed = leftovers
      identity = ObjectIdentifier(leftovers)
      SaveLeftovers.release(consume leftovers)
    }
    let deadline = Date().addingTimeInterval(10)
    while freed != nil, Date() < deadline { usleep(1_000) }
    XCTAssertNil(freed, "the leftovers were never freed")
    // (The add above may have its own leftovers freed meanwhile: only these are looked at.)
    let thread = SaveLeftovers.freeingThreads.withLock { $0?[identity] }
    XCTAssertNotNil(thread)
    XCTAssertNotEqual(thread, pthread_self(), "freed on the thread they were handed to")
  }

  func testASaveHandsWhatItReadToAnotherThread() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    SaveLeftovers.freeingThreads.withLock { $0 = [:] }
    defer { SaveLeftovers.freeingThreads.withLock { $0 = nil } }
    try vault.add("KEY", "sk-test-value-0123456789")
    let deadline = Date().addingTimeInterval(10)
    while SaveLeftovers.freeingThreads.withLock({ $0?.isEmpty ?? true }), Date() < deadline { usleep(1_000) }
    let threads = SaveLeftovers.freeingThreads.withLock { $0.map { Array($0.values) } ?? [] }
    XCTAssertFalse(threads.isEmpty, "the save's leftovers were never freed")
    XCTAssertFalse(threads.contains(pthread_self()), "freed on the test's own thread")
  }
}
