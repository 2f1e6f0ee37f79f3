import Foundation
// Only the public API: what a program using the VaultCore library product can call.
import VaultCore
import XCTest

/// The README's "Using VaultCore from Swift" example, step for step, so it keeps compiling and
/// working: a program reads one provider key with an agent key and nothing else.
final class LibraryExampleTests: XCTestCase {
  func testTheReadmeExampleReadsAKeyWithAnAgentKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai")
    let issued = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: "bot", scope: AgentScope(providers: ["openai"]), lifetime: 3_600, createdBy: "test", keyring: keyring,
        now: .now())
    }
    let tokenText = issued.text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    let path = vault.store.path

    // --- the README example ---
    let store = VaultStore(path: path)
    let token = try AgentToken.parse(Array(tokenText.utf8))
    let access = try AgentAccess(store: store, token: token, now: .now())
    let key = try access.key(forProvider: "openai", model: nil, allKeys: { try store.read().document.keys })
    let value = try access.open(key)
    let header = value.withUnsafeBytes { "Bearer " + String(decoding: $0, as: UTF8.self) }
    // --- end ---

    XCTAssertEqual(key.name, "OPENAI_MAIN")
    XCTAssertEqual(header, "Bearer sk-openai-main-aaaaaaaaaaaa")
    XCTAssertEqual(try access.select(KeySelectors(keys: ["OPENAI_MAIN"])).map(\.key.name), ["OPENAI_MAIN"])
  }
}
