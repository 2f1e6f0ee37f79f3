import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// The record-level three-way merge behind `vault merge-driver`, on documents and keyrings.
final class VaultMergeTests: XCTestCase {
  /// A base vault and two copies of it, changed apart as two clones would be.
  private struct Fork {
    let base: TestVault
    let ours: VaultStore
    let theirs: VaultStore

    init(_ base: TestVault) throws {
      self.base = base
      let bytes = try base.bytes()
      ours = VaultStore(path: base.directory + "/ours.json")
      theirs = VaultStore(path: base.directory + "/theirs.json")
      for store in [ours, theirs] { try writeVault(store.path, bytes) }
    }

    func merge(baseUnlocked: Bool = true, now: Timestamp = .now()) throws -> MergeResult {
      let base = try self.base.store.unlock(passphrase: TestVault.passphrase)
      return try VaultMerge.merge(
        base: base.document, baseKeyring: baseUnlocked ? base.keyring : nil,
        ours: try ours.unlock(passphrase: TestVault.passphrase),
        theirs: try theirs.unlock(passphrase: TestVault.passphrase), now: now)
    }

    /// The result written as the merge driver writes it, and read back through the store.
    func written(_ result: MergeResult) throws -> (store: VaultStore, unlocked: UnlockedVault) {
      let store = VaultStore(path: base.directory + "/merged.json")
      try writeVault(store.path, try base.bytes())
      try store.writeMerged(result)
      return (store, try store.unlock(passphrase: TestVault.passphrase))
    }
  }

  private static func writeVault(_ path: String, _ bytes: [UInt8]) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    else { throw POSIXError(.EIO) }
  }

  private func secret(_ text: String) -> SecretBytes { SecretBytes(copying: Array(text.utf8)) }

  private func add(_ store: VaultStore, _ name: String, _ value: String, provider: String? = nil) throws {
    try store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.addKey(
        name: name, value: secret(value), provider: provider, models: [], environmentNames: [], keyring: keyring,
        now: .now())
    }
  }

  private func setValue(_ store: VaultStore, _ name: String, _ value: String) throws {
    try store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.setValue(of: name, to: secret(value), keyring: keyring, now: .now())
    }
  }

  private func createAgent(_ store: VaultStore, _ name: String, _ scope: AgentScope) throws -> AgentToken {
    try store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: name, scope: scope, lifetime: 3_600, createdBy: "test", keyring: keyring, now: .now())
    }
  }

  private func values(_ unlocked: UnlockedVault) throws -> [String: String] {
    Dictionary(uniqueKeysWithValues: try unlocked.document.keys.map { ($0.name, try unlocked.keyring.open($0).text) })
  }

  func testDisjointAddsMergeWithOursFirstAndAGenerationAboveBoth() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("SHARED", "sk-shared-value-000000000000", provider: "openai")
    let fork = try Fork(vault)
    try add(fork.ours, "OURS_KEY", "sk-ours-value-1111111111111")
    try add(fork.ours, "OURS_TOO", "sk-ours-value-2222222222222")
    try add(fork.theirs, "THEIRS_KEY", "sk-theirs-value-33333333333")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.document.keys.map(\.name), ["SHARED", "OURS_KEY", "OURS_TOO", "THEIRS_KEY"])
    // Base 2, ours 4, theirs 3: one above the higher side.
    XCTAssertEqual(result.document.header.generation, 5)
    let (_, merged) = try fork.written(result)
    XCTAssertEqual(
      try values(merged),
      [
        "SHARED": "sk-shared-value-000000000000", "OURS_KEY": "sk-ours-value-1111111111111",
        "OURS_TOO": "sk-ours-value-2222222222222", "THEIRS_KEY": "sk-theirs-value-33333333333",
      ])
  }

  func testARemovalOnOneSideIsTakenWhenTheOtherDidNotTouchTheKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("LEAVING", "sk-leaving-x-0000000000000")
    try vault.add("STAYS", "sk-stays-here-000000000000")
    let fork = try Fork(vault)
    try fork.theirs.update(passphrase: TestVault.passphrase) { document, _ in try document.removeKey("LEAVING") }
    try add(fork.ours, "NEW", "sk-new-on-ours-00000000000")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.document.keys.map(\.name), ["STAYS", "NEW"])
  }

  func testAnEditOnOneSideIsTakenAndEditsOfDifferentKeysCombine() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("EDITED_THERE", "sk-before-edit-00000000000", provider: "openai")
    try vault.add("RENAMED_HERE", "sk-renamed-value-000000000")
    let fork = try Fork(vault)
    try setValue(fork.theirs, "EDITED_THERE", "sk-after-edit-theirs-11111")
    try fork.ours.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.renameKey("RENAMED_HERE", to: "NOW_CALLED", keyring: keyring, now: .now())
    }
    for baseUnlocked in [true, false] {
      let result = try fork.merge(baseUnlocked: baseUnlocked)
      XCTAssertEqual(result.conflicts, [], "base unlocked: \(baseUnlocked)")
      let (_, merged) = try fork.written(result)
      XCTAssertEqual(
        try values(merged), ["EDITED_THERE": "sk-after-edit-theirs-11111", "NOW_CALLED": "sk-renamed-value-000000000"])
    }
  }

  func testOneKeyEditedDifferentlyOnBothSidesIsAConflictResolvedToOurs() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_DEV", "sk-original-value-0000000", provider: "openai")
    try vault.add("CALM", "sk-calm-value-00000000000")
    let fork = try Fork(vault)
    try setValue(fork.ours, "OPENAI_DEV", "sk-ours-new-value-1111111")
    try setValue(fork.theirs, "OPENAI_DEV", "sk-theirs-new-value-22222")
    try add(fork.theirs, "ALSO_THEIRS", "sk-also-theirs-33333333333")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [MergeConflict(.providerKey("OPENAI_DEV"), "was changed on both sides")])
    XCTAssertEqual(result.conflicts[0].description, "provider key OPENAI_DEV was changed on both sides")
    // The file is a valid vault: OURS's version of the conflicting key, the rest merged.
    let (_, merged) = try fork.written(result)
    XCTAssertEqual(
      try values(merged),
      [
        "OPENAI_DEV": "sk-ours-new-value-1111111", "CALM": "sk-calm-value-00000000000",
        "ALSO_THEIRS": "sk-also-theirs-33333333333",
      ])
  }

  func testRemovedOnOneSideAndEditedOnTheOtherIsAConflict() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("DISPUTED", "sk-disputed-value-00000000")
    let fork = try Fork(vault)
    try fork.ours.update(passphrase: TestVault.passphrase) { document, _ in try document.removeKey("DISPUTED") }
    try setValue(fork.theirs, "DISPUTED", "sk-disputed-edited-111111")
    let result = try fork.merge()
    XCTAssertEqual(
      result.conflicts, [MergeConflict(.providerKey("DISPUTED"), "was removed on one side and changed on the other")])
    XCTAssertEqual(result.document.keys.map(\.name), [])
  }

  func testOneNameAddedOnBothSidesIsAConflictKeepingOurs() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let fork = try Fork(vault)
    try add(fork.ours, "SAME_NAME", "sk-ours-same-name-0000000")
    try add(fork.theirs, "SAME_NAME", "sk-theirs-same-name-11111")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [MergeConflict(.providerKey("SAME_NAME"), "was added or renamed on both sides")])
    let (_, merged) = try fork.written(result)
    XCTAssertEqual(try values(merged), ["SAME_NAME": "sk-ours-same-name-0000000"])
  }

  func testSettingsMergeByValue() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let fork = try Fork(vault)
    try fork.theirs.update(passphrase: TestVault.passphrase) { document, _ in
      document.header.settings.agentKeyLimit = 20
    }
    try fork.ours.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.setEndpoint(provider: "openai", baseURL: "https://proxy.example", keyring: keyring, now: .now())
    }
    var result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.document.header.settings.agentKeyLimit, 20)
    XCTAssertEqual(result.document.header.settings.endpoint(for: "openai"), "https://proxy.example")
    try fork.ours.update(passphrase: TestVault.passphrase) { document, _ in
      document.header.settings.agentKeyLimit = 30
    }
    result = try fork.merge()
    XCTAssertEqual(result.conflicts, [MergeConflict(.setting("agent-keys.limit"), "was changed on both sides")])
    XCTAssertEqual(result.document.header.settings.agentKeyLimit, 30)
  }

  private func makeDefault(_ store: VaultStore, _ name: String) throws {
    try store.update(passphrase: TestVault.passphrase) { document, _ in _ = try document.makeDefault(name) }
  }

  /// The default key is the order of `keys`, which the merge takes from OURS: a default chosen
  /// on THEIRS alone must survive it, one chosen on OURS alone too, and two different choices
  /// among the same keys are a conflict that keeps OURS's.
  func testADefaultKeyChosenOnOneSideSurvivesTheMerge() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    for name in ["FIRST", "SECOND", "THIRD"] {
      try vault.add(name, "sk-\(name.lowercased())-value-0000000000", provider: "openai")
    }
    try vault.add("OTHER", "sk-other-value-00000000000000", provider: "anthropic")
    var fork = try Fork(vault)
    try makeDefault(fork.theirs, "THIRD")
    try add(fork.ours, "OURS_NEW", "sk-ours-new-value-0000000000", provider: "anthropic")
    var result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.document.defaultKey(of: "openai")?.name, "THIRD")
    XCTAssertEqual(result.document.defaultKey(of: "anthropic")?.name, "OTHER")
    XCTAssertEqual(result.document.keys.map(\.name), ["THIRD", "FIRST", "SECOND", "OTHER", "OURS_NEW"])
    XCTAssertEqual(try fork.written(result).unlocked.document.defaultKey(of: "openai")?.name, "THIRD")

    /// OURS and THEIRS each make `ours` and `theirs` the default (nil: no choice on that side)
    /// in a fresh fork; the merge's conflicts and its default of openai.
    func merged(ours: String?, theirs: String?) throws -> (conflicts: [MergeConflict], default: String?) {
      let fork = try Fork(vault)
      if let ours { try makeDefault(fork.ours, ours) }
      if let theirs { try makeDefault(fork.theirs, theirs) }
      // A key added to the provider on the side that chose nothing: the choice must outlive it.
      if ours != nil, theirs == nil {
        try add(fork.theirs, "THEIRS_NEW", "sk-theirs-new-value-00000000", provider: "openai")
      }
      let result = try fork.merge()
      return (result.conflicts, result.document.defaultKey(of: "openai")?.name)
    }
    // Chosen on OURS alone; the same choice on both sides; different choices among the same keys.
    let conflict = MergeConflict(
      .providerKey("THIRD"), "was made openai's default on one side and SECOND on the other (SECOND stays)")
    let cases: [(ours: String, theirs: String?, conflicts: [MergeConflict], default: String)] = [
      ("SECOND", nil, [], "SECOND"), ("THIRD", "THIRD", [], "THIRD"), ("SECOND", "THIRD", [conflict], "SECOND"),
    ]
    for testCase in cases {
      let outcome = try merged(ours: testCase.ours, theirs: testCase.theirs)
      XCTAssertEqual(outcome.conflicts, testCase.conflicts, "\(testCase)")
      XCTAssertEqual(outcome.default, testCase.default, "\(testCase)")
    }
  }

  /// A default that moved on THEIRS only because its old default went (removed there) is no
  /// choice to carry over.
  func testADefaultThatMovedAsASideEffectIsNoConflict() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    for name in ["FIRST", "SECOND", "THIRD"] {
      try vault.add(name, "sk-\(name.lowercased())-value-0000000000", provider: "openai")
    }
    let fork = try Fork(vault)
    try fork.theirs.update(passphrase: TestVault.passphrase) { document, _ in try document.removeKey("FIRST") }
    try makeDefault(fork.ours, "THIRD")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.document.keys.map(\.name), ["THIRD", "SECOND"])
  }

  private func edit(_ store: VaultStore, _ change: (inout VaultDocument) throws -> Void) throws {
    try store.update(passphrase: TestVault.passphrase) { document, _ in try change(&document) }
  }

  /// BASE holds D of anthropic, then A, B and C of openai (A the default); `ours` and `theirs`
  /// edit their copies; the merge's conflicts (as text) and its default of openai.
  private func mergedDefault(
    ours: (inout VaultDocument) throws -> Void, theirs: (inout VaultDocument) throws -> Void
  ) throws -> (conflicts: [String], default: String?) {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("D", "sk-d-value-000000000000000000", provider: "anthropic")
    for name in ["A", "B", "C"] {
      try vault.add(name, "sk-\(name.lowercased())-value-000000000000000000", provider: "openai")
    }
    let fork = try Fork(vault)
    try edit(fork.ours, ours)
    try edit(fork.theirs, theirs)
    let result = try fork.merge()
    _ = try fork.written(result)
    return (result.conflicts.map(\.description), result.document.defaultKey(of: "openai")?.name)
  }

  /// A choice counts however the side got there: after removing BASE's default, or giving it
  /// variables of its own; and a key one side moved to the end so that it would not take over
  /// (it joined the provider) does not take over in the merge, where OURS's order puts it first.
  func testADefaultChosenAfterBasesDefaultWentStillCounts() throws {
    let none: (inout VaultDocument) throws -> Void = { _ in }
    var outcome = try mergedDefault(ours: none) {
      try $0.removeKey("A")
      try $0.makeDefault("C")
    }
    XCTAssertEqual(outcome.conflicts, [])
    XCTAssertEqual(outcome.default, "C")
    outcome = try mergedDefault(ours: none) {
      try $0.setEnvironmentNames(of: "A", to: ["A_KEY"], now: .now())
      try $0.makeDefault("C")
    }
    XCTAssertEqual(outcome.conflicts, [])
    XCTAssertEqual(outcome.default, "C")
    // Two choices, one made after removing A: a conflict, and OURS's stays.
    outcome = try mergedDefault(
      ours: {
        try $0.removeKey("A")
        try $0.makeDefault("C")
      },
      theirs: { try $0.makeDefault("B") })
    XCTAssertEqual(
      outcome.conflicts, ["provider key B was made openai's default on one side and C on the other (C stays)"])
    XCTAssertEqual(outcome.default, "C")
    // D joins openai on THEIRS, which moves it to the end there; OURS's order has it first.
    outcome = try mergedDefault(ours: none) { try $0.setProvider(of: "D", to: "openai", now: .now()) }
    XCTAssertEqual(outcome.conflicts, [])
    XCTAssertEqual(outcome.default, "A")
  }

  /// A choice the merge cannot keep, because the other side removed the key or gave it
  /// variables of its own, is named; the other side's choice, if any, is taken.
  func testADefaultTheMergeCannotKeepIsAConflict() throws {
    var outcome = try mergedDefault(
      ours: { try $0.makeDefault("B") },
      theirs: {
        try $0.makeDefault("C")
        try $0.removeKey("B")
      })
    XCTAssertEqual(
      outcome.conflicts, ["provider key B was made openai's default on one side and removed on the other"])
    XCTAssertEqual(outcome.default, "C")
    outcome = try mergedDefault(
      ours: { try $0.setEnvironmentNames(of: "C", to: ["C_KEY"], now: .now()) }, theirs: { try $0.makeDefault("C") })
    XCTAssertEqual(
      outcome.conflicts,
      ["provider key C was made openai's default on one side and given variables of its own on the other"])
    XCTAssertEqual(outcome.default, "A")
  }

  func testAgentKeysCreatedOnBothSidesBothReadTheMergedKeys() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-00000000000", provider: "openai")
    let fork = try Fork(vault)
    let oursToken = try createAgent(fork.ours, "ours-bot", AgentScope(all: true))
    let theirsToken = try createAgent(fork.theirs, "theirs-bot", AgentScope(providers: ["openai"]))
    try add(fork.ours, "OPENAI_OURS", "sk-openai-ours-11111111111", provider: "openai")
    try add(fork.theirs, "GROQ_THEIRS", "sk-groq-theirs-22222222222", provider: "groq")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.document.agents.map(\.name), ["ours-bot", "theirs-bot"])
    XCTAssertEqual(result.rekeyed, [])
    let (store, _) = try fork.written(result)
    let ours = try store.openAgent(token: oursToken)
    XCTAssertEqual(try ours.grantedKeys().map(\.name), ["OPENAI_MAIN", "OPENAI_OURS", "GROQ_THEIRS"])
    XCTAssertEqual(try ours.keyring.open(ours.grantedKeys()[2]).text, "sk-groq-theirs-22222222222")
    let theirs = try store.openAgent(token: theirsToken)
    XCTAssertEqual(try theirs.grantedKeys().map(\.name), ["OPENAI_MAIN", "OPENAI_OURS"])
    XCTAssertEqual(try theirs.keyring.open(theirs.grantedKeys()[1]).text, "sk-openai-ours-11111111111")
  }

  /// Bob revokes an agent key while Alice adds a key: the merged file must not let the revoked
  /// token read Alice's key, not even with the data key it unwrapped from Alice's version.
  func testATokenRevokedOnOneSideReadsNothingAddedOnTheOther() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("SHARED", "sk-shared-before-fork-00000", provider: "openai")
    let fork = try Fork(vault)
    let leaky = try createAgent(fork.base.store, "leaky", AgentScope(all: true))
    for store in [fork.ours, fork.theirs] { try Self.writeVault(store.path, try vault.bytes()) }
    try add(fork.ours, "ALICE_KEY", "sk-alice-added-11111111111", provider: "groq")
    // The token reads Alice's version before the merge and keeps every data key it unwrapped.
    let session = try fork.ours.openAgent(token: leaky)
    var kept: [RecordID: SecretBytes] = [:]
    for key in try session.grantedKeys() { kept[key.id] = try session.keyring.dataKey(of: key) }
    XCTAssertEqual(kept.count, 2)
    _ = try fork.theirs.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.revokeAgent("leaky", keyring: keyring, now: .now())
    }

    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(Set(result.rekeyed), ["SHARED", "ALICE_KEY"])
    let (store, merged) = try fork.written(result)
    XCTAssertNotNil(try merged.document.agent(named: "leaky").revoked)
    XCTAssertThrowsError(try store.openAgent(token: leaky)) { error in
      guard case VaultError.accessNotPermitted(.revoked) = error else { return XCTFail("\(error)") }
    }
    for key in merged.document.keys {
      XCTAssertThrowsError(
        try AESGCM.open(
          key.sealedValue, key: try XCTUnwrap(kept[key.id]),
          associatedData: CryptoContext.value(vaultID: merged.document.header.idHex, recordID: key.id, name: key.name)),
        "\(key.name) still opens with a data key the revoked token kept")
    }
    XCTAssertEqual(try values(merged)["ALICE_KEY"], "sk-alice-added-11111111111")
  }

  func testARotationOnOneSideIsKeptAndTheOldTokenStaysRetired() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("K", "sk-rotation-value-000000000", provider: "openai")
    let fork = try Fork(vault)
    let old = try createAgent(fork.base.store, "bot", AgentScope(all: true))
    for store in [fork.ours, fork.theirs] { try Self.writeVault(store.path, try vault.bytes()) }
    let new = try fork.theirs.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.rotateAgent("bot", grace: 0, lifetime: nil, keyring: keyring, now: .now())
    }
    try add(fork.ours, "OURS_K", "sk-ours-after-rotate-11111", provider: "openai")
    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    let (store, _) = try fork.written(result)
    XCTAssertEqual(try store.openAgent(token: new).grantedKeys().map(\.name), ["K", "OURS_K"])
    XCTAssertThrowsError(try store.openAgent(token: old))
    XCTAssertEqual(Set(result.rekeyed), ["K", "OURS_K"])
  }

  func testVersionsOfDifferentVaultsAreRefused() throws {
    let one = try TestVault()
    let other = try TestVault()
    defer {
      one.remove()
      other.remove()
    }
    let mine = try one.store.unlock(passphrase: TestVault.passphrase)
    let stranger = try other.store.unlock(passphrase: TestVault.passphrase)
    XCTAssertThrowsError(
      try VaultMerge.merge(base: mine.document, baseKeyring: nil, ours: mine, theirs: stranger, now: .now())
    ) { error in
      guard case VaultError.mergeRefused = error else { return XCTFail("\(error)") }
    }
  }

  /// Format version 2 never changes a master key, so `reseal` is a no-op in every merge today;
  /// member removal will make it real. A keyring with another master key for the same vault is
  /// made here the way an unlock session's record holds one.
  func testResealCarriesAKeyToAnotherMasterKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("MOVED", "sk-moved-between-keys-00000")
    let source = try vault.store.unlock(passphrase: TestVault.passphrase)
    let header = source.document.header
    let record = UnlockSessionRecord(
      vaultID: header.id, binding: [], expires: .now(), masterKey: try SecureRandom.secret(count: 32))
    let target = try Keyring.unlock(header: header, session: record)
    XCTAssertFalse(source.keyring.hasSameMasterKey(as: target))
    XCTAssertTrue(source.keyring.hasSameMasterKey(as: try vault.store.unlock(passphrase: TestVault.passphrase).keyring))
    let key = try source.document.key(named: "MOVED")
    XCTAssertEqual(try VaultMerge.reseal(key, from: source.keyring, to: source.keyring), key)
    let resealed = try VaultMerge.reseal(key, from: source.keyring, to: target)
    XCTAssertEqual(try target.open(resealed).text, "sk-moved-between-keys-00000")
    XCTAssertThrowsError(try source.keyring.open(resealed))
    XCTAssertEqual(resealed.updated, key.updated)
  }

  // MARK: Members

  private func credential(_ identity: AgeIdentity) -> VaultCredential {
    VaultCredential(
      identities: { [OfferedIdentity(identity: identity, source: "test")] },
      passphrase: { throw VaultError.passphraseUnavailable(fileVariable: "F", valueVariable: "V") })
  }

  private func addMember(_ store: VaultStore, _ name: String, _ identity: AgeIdentity) throws {
    try store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.addMember(
        name: name, recipient: identity.recipient, role: .owner, addedBy: "test", keyring: keyring, now: .now())
    }
  }

  private func removeMember(_ store: VaultStore, _ name: String) throws {
    try store.updateRekeying(credential: .passphrase(TestVault.passphrase)) { document, keyring, passphrase in
      let (rekeyed, _, _) = try document.removeMember(name, keyring: keyring, passphrase: passphrase)
      return ((), rekeyed)
    }
  }

  /// alice removes bob (a new master key) while carol, on the other side, adds a key under the
  /// old one, which bob knows: the merge keeps the new master key and re-seals carol's key under
  /// it, so bob's identity opens nothing in the merged file and the old master key decrypts none
  /// of it.
  func testAMemberRemovedOnOneSideOpensNothingWrittenOnTheOther() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let (alice, bob) = (try AgeIdentity.generate(), try AgeIdentity.generate())
    try addMember(vault.store, "alice", alice)
    try addMember(vault.store, "bob", bob)
    let oldKeyring = try vault.store.unlock(passphrase: TestVault.passphrase).keyring
    let fork = try Fork(vault)
    try removeMember(fork.ours, "bob")
    try add(fork.theirs, "ADDED_BY_CAROL", "sk-added-after-removal-0001")
    // An agent key issued on the other side: its slot key sealed under the master key bob holds.
    _ = try createAgent(fork.theirs, "theirs-ci", AgentScope(all: true, keys: [], providers: [], models: []))

    let result = try fork.merge()
    XCTAssertEqual(result.conflicts, [])
    XCTAssertEqual(result.revokedAgents, ["theirs-ci"])
    XCTAssertNotNil(result.document.agents.first { $0.name == "theirs-ci" }?.revoked)
    XCTAssertFalse(result.document.agents.contains { $0.credentials.contains(where: \.isLive) })
    XCTAssertEqual(result.document.members.map(\.name), ["alice"])
    let ours = try fork.ours.unlock(passphrase: TestVault.passphrase)
    XCTAssertTrue(result.keyring.hasSameMasterKey(as: ours.keyring))
    XCTAssertFalse(result.keyring.hasSameMasterKey(as: oldKeyring))
    let (store, merged) = try fork.written(result)
    let added = try merged.document.key(named: "ADDED_BY_CAROL")
    XCTAssertEqual(try merged.keyring.open(added).text, "sk-added-after-removal-0001")
    XCTAssertThrowsError(try oldKeyring.open(added))
    XCTAssertThrowsError(try store.unlock(credential: credential(bob))) { error in
      guard case VaultError.notAMember = error else { return XCTFail("\(error)") }
    }
    XCTAssertEqual(
      try store.value(named: "ADDED_BY_CAROL", credential: credential(alice)).text, "sk-added-after-removal-0001")
  }

  /// Both sides removed someone: neither side's master key is safe (each removed member knows
  /// the other side's), so the merge draws a fresh one, wrapped for the passphrase and alice.
  func testMembersRemovedOnBothSidesGetAFreshMasterKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let (alice, bob, carol) = (try AgeIdentity.generate(), try AgeIdentity.generate(), try AgeIdentity.generate())
    for (name, identity) in [("alice", alice), ("bob", bob), ("carol", carol)] {
      try addMember(vault.store, name, identity)
    }
    try vault.add("SHARED", "sk-shared-before-both-removals")
    let fork = try Fork(vault)
    try removeMember(fork.ours, "bob")
    try removeMember(fork.theirs, "carol")
    let base = try vault.store.unlock(passphrase: TestVault.passphrase)
    let result = try VaultMerge.merge(
      base: base.document, baseKeyring: base.keyring, ours: try fork.ours.unlock(passphrase: TestVault.passphrase),
      theirs: try fork.theirs.unlock(passphrase: TestVault.passphrase), now: .now(), passphrase: TestVault.passphrase)
    XCTAssertEqual(result.document.members.map(\.name), ["alice"])
    for side in [fork.ours, fork.theirs, vault.store] {
      XCTAssertFalse(result.keyring.hasSameMasterKey(as: try side.unlock(passphrase: TestVault.passphrase).keyring))
    }
    let (store, merged) = try fork.written(result)
    XCTAssertEqual(
      try merged.keyring.open(try merged.document.key(named: "SHARED")).text, "sk-shared-before-both-removals")
    XCTAssertEqual(
      try store.value(named: "SHARED", credential: credential(alice)).text, "sk-shared-before-both-removals")
    for removed in [bob, carol] { XCTAssertThrowsError(try store.unlock(credential: credential(removed))) }
  }

  /// A member added on one side is a member of the merge; a member removed on one side and
  /// changed (re-added with another role) on the other stays removed, reported.
  func testMembersMergeByName() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let (alice, bob, dave) = (try AgeIdentity.generate(), try AgeIdentity.generate(), try AgeIdentity.generate())
    try addMember(vault.store, "alice", alice)
    try addMember(vault.store, "bob", bob)
    let fork = try Fork(vault)
    try addMember(fork.theirs, "dave", dave)
    try removeMember(fork.theirs, "bob")
    try fork.ours.update(passphrase: TestVault.passphrase) { document, _ in
      document.members[document.memberIndex(of: "bob")!].role = .reader
    }
    let result = try fork.merge()
    XCTAssertEqual(result.document.members.map(\.name), ["alice", "dave"])
    XCTAssertEqual(
      result.conflicts.map(\.description),
      ["member bob was removed on one side and changed on the other; the removal stands"])
    let (store, _) = try fork.written(result)
    XCTAssertNoThrow(try store.unlock(credential: credential(dave)))
    XCTAssertThrowsError(try store.unlock(credential: credential(bob)))
  }
}
