import Foundation
import XCTest

@testable import VaultCore

/// What a save read and wrote is freed on a detached thread (`SaveLeftovers`): it must be freed
/// all the same, and the caller's reference must not be the one left.
final class SaveLeftoversTests: XCTestCase {
  func testLeftoversAreFreedByTheThreadTheyAreHandedTo() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("KEY", "sk-test-value-0123456789")
    let locked = try vault.store.read()
    weak var freed: SaveLeftovers?
    do {
      let leftovers = SaveLeftovers(files: [locked], documents: [locked.document], pieces: [locked.bytes[...]])
      freed = leftovers
      SaveLeftovers.release(consume leftovers)
    }
    let deadline = Date().addingTimeInterval(10)
    while freed != nil, Date() < deadline { usleep(1_000) }
    XCTAssertNil(freed, "the leftovers were never freed")
  }
}
