import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// The run cache below the command line: its record's encoding (every field back, every
/// truncation and damage refused without a crash), the plan's second check, and `RunCache.load`
/// refusing a token past its expiry and a vault older than a generation seen.
final class RunCacheRecordTests: XCTestCase {
  private struct Launch {
    var vault: TestVault
    var token: AgentToken
    var access: AgentAccess
    var plan: InjectionPlan
    var values: [RecordID: SecretBytes]
    var terms: TokenTerms
  }

  /// A vault of three keys, a one-hour `--all` token, and what a launch with it plans and opens.
  private func launch() throws -> Launch {
    let vault = try TestVault()
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai", models: ["gpt-4o"])
    try vault.add("CLAUDE", "sk-ant-claude-cccccccccccc", provider: "anthropic")
    try vault.add("PLAIN_KEY", "plain-value-with-\u{e9}-dddddddd")
    let token = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: "runner", scope: AgentScope(all: true), lifetime: 3_600, createdBy: "test", keyring: keyring,
        now: .now())
    }
    let access = try AgentAccess(store: vault.store, token: token, now: .now())
    let plan = try InjectionPlan(try access.select(KeySelectors()))
    let values = try access.open(plan.keys)
    let terms = TokenTerms(agent: access.agent, credential: access.session.keyring.credential)
    return Launch(vault: vault, token: token, access: access, plan: plan, values: values, terms: terms)
  }

  /// The launch cached (with no wait for the file to settle); the cache and the vault's path.
  private func stored(_ launch: Launch) -> (RunCache, String) {
    let cache = RunCache(directory: launch.vault.directory + "/runs", settleSeconds: 0)
    cache.store(
      token: launch.token, session: launch.access.session,
      injection: Injection(plan: launch.plan, values: launch.values), terms: launch.terms, records: nil)
    return (cache, launch.vault.store.targetPath)
  }

  private func record(_ launch: Launch) -> RunCacheRecord {
    RunCacheRecord(
      generation: 7, terms: launch.terms, injection: Injection(plan: launch.plan, values: launch.values))
  }

  func testARecordReadsBackAsItWasWritten() throws {
    let launch = try launch()
    defer { launch.vault.remove() }
    let decoded = try RunCacheRecord.decode(record(launch).encoded())
    XCTAssertEqual(decoded.generation, 7)
    XCTAssertEqual(decoded.terms, launch.terms)
    let injection = decoded.injection
    XCTAssertEqual(injection.variables.map(\.name), launch.plan.entries.map(\.variable))
    XCTAssertEqual(
      injection.variables.map { injection.keys[$0.key].id }, launch.plan.entries.map(\.key.id))
    XCTAssertEqual(injection.keys.count, 3)
    // Written in order of id, which the usage line takes them in.
    XCTAssertEqual(injection.keys.map(\.id), launch.plan.keys.map(\.id).sorted())
    for (read, written) in zip(injection.keys, launch.plan.keys.sorted { $0.id < $1.id }) {
      XCTAssertEqual(read.id, written.id)
      XCTAssertEqual(read.name, written.name)
      XCTAssertEqual(read.masked, written.masked)
      XCTAssertEqual(read.value?.copyBytes(), launch.values[written.id]?.copyBytes(), read.name)
    }
  }

  func testEveryTruncationAndStrayByteIsRefusedWithoutACrash() throws {
    let launch = try launch()
    defer { launch.vault.remove() }
    let bytes = record(launch).encoded().copyBytes()
    for length in 0..<bytes.count {
      XCTAssertThrowsError(
        try RunCacheRecord.decode(SecretBytes(copying: bytes[..<length])), "truncated at \(length)")
    }
    XCTAssertThrowsError(try RunCacheRecord.decode(SecretBytes(copying: bytes + [0])), "a byte left over")
    // Any single byte changed: refused or read, never a crash or an unchecked variable name.
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<3_000 {
      var damaged = bytes
      damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
      if let read = try? RunCacheRecord.decode(SecretBytes(copying: damaged)) {
        for variable in read.injection.variables { XCTAssertNoThrow(try Names.validateEnvironmentName(variable.name)) }
      }
    }
  }

  func testKeysOutOfOrderOrRepeatedAreRefused() throws {
    let launch = try launch()
    defer { launch.vault.remove() }
    let ids = launch.plan.keys.map(\.id).sorted()
    // The record as the writer lays it out, with the keys in the order given.
    func bytes(_ keys: [RecordID]) -> SecretBytes {
      func write(_ writer: inout RunCacheWriter) {
        writer.integer(UInt64(1))
        writer.string(launch.terms.agentID)
        writer.string(launch.terms.agentName)
        writer.time(launch.terms.notAfter)
        writer.optionalTime(nil)
        writer.optionalTime(nil)
        writer.integer(UInt32(keys.count))
        for id in keys {
          writer.integer(id.words.high)
          writer.integer(id.words.low)
          writer.string("KEY_NAME")
          writer.string("sk-…abc")
          writer.string("sk-value")
        }
        writer.integer(UInt32(0))
      }
      var counter = RunCacheWriter(into: nil)
      write(&counter)
      return SecretBytes(count: counter.offset) {
        var writer = RunCacheWriter(into: $0)
        write(&writer)
      }
    }
    XCTAssertEqual(try RunCacheRecord.decode(bytes(ids)).injection.keys.map(\.id), ids)
    // The writer puts keys given in any order in order of id, and each variable stays with its key.
    let keys = ids.reversed().enumerated().map { index, id in
      Injection.Key(
        id: id, name: "KEY_\(index)", masked: "m", value: SecretBytes(copying: Array("value-\(index)".utf8)))
    }
    let written = RunCacheRecord(
      generation: 1, terms: launch.terms,
      injection: Injection(keys: keys, variables: keys.indices.map { Injection.Variable(name: "VAR_\($0)", key: $0) }))
    let read = try RunCacheRecord.decode(written.encoded()).injection
    XCTAssertEqual(read.keys.map(\.id), ids)
    for variable in read.variables {
      let index = try XCTUnwrap(Int(variable.name.dropFirst(4)))
      XCTAssertEqual(read.keys[variable.key].name, "KEY_\(index)")
      XCTAssertEqual(read.value(of: variable)?.copyBytes(), Array("value-\(index)".utf8))
    }
    XCTAssertThrowsError(try RunCacheRecord.decode(bytes([ids[1], ids[0], ids[2]])), "keys out of order")
    XCTAssertThrowsError(try RunCacheRecord.decode(bytes([ids[0], ids[1], ids[1]])), "a key twice")
  }

  func testEveryVariableIsCheckedAgainWhenRead() throws {
    let launch = try launch()
    defer { launch.vault.remove() }
    let key = Injection.Key(
      id: launch.plan.keys[0].id, name: "SOME_KEY", masked: "********", value: SecretBytes(copying: Array("v".utf8)))
    func read(_ names: [String]) throws -> RunCacheRecord {
      let record = RunCacheRecord(
        generation: 1, terms: launch.terms,
        injection: Injection(keys: [key], variables: names.map { Injection.Variable(name: $0, key: 0) }))
      return try RunCacheRecord.decode(record.encoded())
    }
    for refused in ["LD_PRELOAD", "PATH", "VAULT_AGENT_KEY", "1BAD", "BAD-NAME", ""] {
      XCTAssertThrowsError(try read([refused]), refused)
    }
    XCTAssertThrowsError(try read(["SOME_KEY", "SOME_KEY"]), "a variable claimed twice")
    XCTAssertEqual(try read(["SOME_KEY", "OTHER_NAME"]).injection.variables.map(\.name), ["SOME_KEY", "OTHER_NAME"])
  }

  func testLoadRefusesAnExpiredTokenAndAGenerationOlderThanOneSeen() throws {
    let launch = try launch()
    defer { launch.vault.remove() }
    let (cache, path) = stored(launch)
    let now = Timestamp.now()
    let hit = try XCTUnwrap(cache.load(token: launch.token, vaultPath: path, now: now, records: nil))
    XCTAssertEqual(hit.injection.variables.map(\.name), launch.plan.entries.map(\.variable))
    XCTAssertNil(
      cache.load(token: launch.token, vaultPath: path, now: launch.terms.effectiveExpiry, records: nil),
      "a cache served a token at its expiry")
    let records = GenerationRecords(directory: launch.vault.directory + "/generations")
    let vaultID = launch.access.session.header.id
    let generation = launch.access.session.header.generation
    try records.record(.init(generation: generation, headerDigest: [UInt8](repeating: 0, count: 32)), vaultID: vaultID)
    XCTAssertNotNil(cache.load(token: launch.token, vaultPath: path, now: now, records: records))
    try records.record(
      .init(generation: generation + 1, headerDigest: [UInt8](repeating: 0, count: 32)), vaultID: vaultID)
    XCTAssertNil(
      cache.load(token: launch.token, vaultPath: path, now: now, records: records),
      "a cache served a vault older than a generation seen")
  }

  func testLoadRefusesAnotherTokenAndAChangedVaultFile() throws {
    let launch = try launch()
    defer { launch.vault.remove() }
    let (cache, path) = stored(launch)
    // The same token id with another secret: the cache does not open.
    let own = launch.token.text.copyBytes()
    let other = try AgentToken.generate().text.copyBytes()
    let body = Array(own[0..<14]) + Array(other[14..<57])
    let checksum = withUnsafeBytes(of: CRC32.checksum(body).bigEndian) { Array($0) }
    let forged = try AgentToken.parse(body + Array(Base62.encode(checksum, width: 6).utf8))
    XCTAssertEqual(forged.id, launch.token.id)
    XCTAssertNil(cache.load(token: forged, vaultPath: path, now: .now(), records: nil))
    // Any write to the vault file changes its change time: the cache is stale.
    XCTAssertNotNil(cache.load(token: launch.token, vaultPath: path, now: .now(), records: nil))
    // The same byte written over itself: the bytes are as they were, the change time is not. The
    // pause puts the write on a later clock tick than the vault's last save.
    usleep(20_000)
    let descriptor = open(path, O_WRONLY)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    XCTAssertEqual(pwrite(descriptor, "{", 1, 0), 1)
    close(descriptor)
    XCTAssertNil(
      cache.load(token: launch.token, vaultPath: path, now: .now(), records: nil), "a rewritten vault file was not seen"
    )
  }
}
