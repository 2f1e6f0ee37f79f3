import VaultCore
import XCTest

/// The pure parts of `vault run`, `env` and `inject`: selection, naming, masking, formats.
final class InjectionTests: XCTestCase {
  private func key(
    _ name: String, provider: String?, models: [String] = [], env: [String] = [],
    value: String = "sk-value-000000000000"
  ) throws -> ProviderKey {
    ProviderKey(
      id: try RecordID.random(), name: name, provider: provider, models: models, environmentNames: env,
      masked: Masking.mask(value), created: .now(), updated: .now(), sealedDataKey: [], sealedValue: [])
  }

  func testEachKeyGoesInUnderItsNameAndItsProvidersVariables() throws {
    let google = try key("GEMINI_MAIN", provider: "google")
    let custom = try key("CUSTOM", provider: "openai", env: ["MY_VAR"])
    let plan = try InjectionPlan(KeySelection.select(from: [google, custom], readable: nil, selectors: KeySelectors()))
    XCTAssertEqual(
      plan.entries.map(\.variable), ["GEMINI_MAIN", "GOOGLE_API_KEY", "GEMINI_API_KEY", "CUSTOM", "MY_VAR"])
  }

  func testTheProvidersDefaultTakesItsVariablesAndItsOtherKeysTheirOwnNames() throws {
    let first = try key("OPENAI_A", provider: "openai")
    let second = try key("OPENAI_B", provider: "openai")
    let third = try key("OPENAI_C", provider: "openai")
    let all = [first, second, third]
    func plan(_ selectors: KeySelectors) throws -> [String: String] {
      let entries = try InjectionPlan(KeySelection.select(from: all, readable: nil, selectors: selectors)).entries
      return Dictionary(uniqueKeysWithValues: entries.map { ($0.variable, $0.key.name) })
    }
    XCTAssertEqual(
      try plan(KeySelectors()),
      ["OPENAI_A": "OPENAI_A", "OPENAI_API_KEY": "OPENAI_A", "OPENAI_B": "OPENAI_B", "OPENAI_C": "OPENAI_C"])
    XCTAssertEqual(try plan(KeySelectors(providers: ["openai"]))["OPENAI_API_KEY"], "OPENAI_A")
    XCTAssertEqual(try plan(KeySelectors(keys: ["OPENAI_B"])), ["OPENAI_B": "OPENAI_B", "OPENAI_API_KEY": "OPENAI_B"])
    XCTAssertEqual(try plan(KeySelectors(keys: ["OPENAI_C", "OPENAI_A"]))["OPENAI_API_KEY"], "OPENAI_A")
    // For an agent key, the default inside its scope.
    let scoped = try InjectionPlan(
      KeySelection.select(from: all, readable: [second.id, third.id], selectors: KeySelectors()))
    XCTAssertEqual(scoped.entries.first { $0.variable == "OPENAI_API_KEY" }?.key.name, "OPENAI_B")
    XCTAssertEqual(KeySelection.defaults(in: all), ["openai": first.id])
  }

  func testTwoKeysClaimingOneVariableAreAConflictNamingBoth() throws {
    let first = try key("OPENAI_A", provider: "openai")
    let second = try key("OPENAI_B", provider: "openai")
    let third = try key("OPENAI_C", provider: "openai")
    XCTAssertThrowsError(
      try InjectionPlan(
        KeySelection.select(
          from: [first, second, third], readable: nil, selectors: KeySelectors(keys: ["OPENAI_B", "OPENAI_C"])))
    ) { error in
      guard case VaultError.injectionConflict(let message) = error else { return XCTFail("\(error)") }
      for fragment in ["OPENAI_API_KEY", "OPENAI_B", "OPENAI_C", "--key", "vault edit OPENAI_B --default", "--env"] {
        XCTAssertTrue(message.contains(fragment), message)
      }
    }
    let one = try key("ONE", provider: nil, env: ["SHARED"])
    let two = try key("TWO", provider: "openai", env: ["SHARED"])
    XCTAssertThrowsError(
      try InjectionPlan(KeySelection.select(from: [one, two], readable: nil, selectors: KeySelectors()))
    ) { error in
      guard case VaultError.injectionConflict(let message) = error else { return XCTFail("\(error)") }
      for fragment in ["SHARED", "ONE", "TWO", "--key", "vault edit TWO --env"] {
        XCTAssertTrue(message.contains(fragment), message)
      }
    }
  }

  func testSelectorsOutsideTheScopeAreDeniedAndUnknownOnesNotFound() throws {
    let inside = try key("INSIDE", provider: "openai", models: ["gpt-4o"])
    let outside = try key("OUTSIDE", provider: "anthropic")
    let readable: Set<RecordID> = [inside.id]
    XCTAssertEqual(
      try KeySelection.select(from: [inside, outside], readable: readable, selectors: KeySelectors(models: ["gpt-4o"]))
        .map(\.key.name), ["INSIDE"])
    XCTAssertThrowsError(
      try KeySelection.select(from: [inside, outside], readable: readable, selectors: KeySelectors(keys: ["OUTSIDE"]))
    ) { error in
      guard case VaultError.permissionDenied = error else { return XCTFail("\(error)") }
    }
    XCTAssertThrowsError(
      try KeySelection.select(from: [inside, outside], readable: readable, selectors: KeySelectors(keys: ["NOPE"]))
    ) { XCTAssertEqual($0 as? VaultError, .keyNotFound(name: "NOPE")) }
    // An unlinked model of a known family picks its provider's keys; an unknown one is an error.
    XCTAssertEqual(
      try KeySelection.select(
        from: [inside, outside], readable: nil, selectors: KeySelectors(models: ["claude-sonnet-4"])
      )
      .map(\.key.name), ["OUTSIDE"])
    XCTAssertThrowsError(
      try KeySelection.select(from: [inside, outside], readable: nil, selectors: KeySelectors(models: ["llama-3"])))
  }

  func testModelFamiliesMapToProvidersAndExplicitPrefixesWin() {
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "gpt-4o-mini"), "openai")
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "o3-mini"), "openai")
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "claude-opus-4"), "anthropic")
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "gemini-2.5-pro"), "google")
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "gemini/gemini-1.5-flash"), "google")
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "bedrock/claude-3"), "bedrock")
    XCTAssertEqual(ProviderCatalogue.provider(forModel: "grok-2"), "xai")
    XCTAssertNil(ProviderCatalogue.provider(forModel: "llama-3.3-70b"))
  }

  func testTheChildEnvironmentDropsVaultCredentialsAndHonoursPrecedence() throws {
    let apiKey = try key("MY_API", provider: "openai")
    let plan = try InjectionPlan(KeySelection.select(from: [apiKey], readable: nil, selectors: KeySelectors()))
    let values = [apiKey.id: SecretBytes(copying: Array("from-vault".utf8))]
    let inherited = [
      "PATH": "/bin", "OPENAI_API_KEY": "inherited", "VAULT_AGENT_KEY": "vk_x", "VAULT_PASSPHRASE": "p",
      "VAULT_PASSPHRASE_FILE": "/f", "EDITOR": "vi",
    ]
    func text(_ options: ChildEnvironment.Options) -> Set<String> {
      Set(
        ChildEnvironment.build(inherited: inherited, plan: plan, values: values, options: options).environment.entries
          .map {
            String(decoding: $0, as: UTF8.self)
          })
    }
    XCTAssertEqual(
      text(.init()), ["PATH=/bin", "EDITOR=vi", "OPENAI_API_KEY=from-vault", "MY_API=from-vault"])
    XCTAssertEqual(
      text(.init(keepInherited: true)), ["PATH=/bin", "EDITOR=vi", "OPENAI_API_KEY=inherited", "MY_API=from-vault"])
    XCTAssertEqual(text(.init(clean: true)), ["PATH=/bin", "OPENAI_API_KEY=from-vault", "MY_API=from-vault"])
  }

  func testMaskingSurvivesEverySplitOfTheStream() {
    let secret = Array("sk-secret-value-123456".utf8)
    let stream = Array("before sk-secret-value-123456 middle sk-secret-value-12345 after sk-secret-value-123456".utf8)
    let expected = Array("before sk-…456 middle sk-secret-value-12345 after sk-…456".utf8)
    for split in 0...stream.count {
      var masker = OutputMasker(secrets: [(SecretBytes(copying: secret), Array("sk-…456".utf8))])
      let output = masker.feed(Array(stream[0..<split])) + masker.feed(Array(stream[split...])) + masker.finish()
      XCTAssertEqual(output, expected, "split at \(split)")
    }
    var bytewise = OutputMasker(secrets: [(SecretBytes(copying: secret), Array("sk-…456".utf8))])
    let output = stream.flatMap { bytewise.feed([$0]) } + bytewise.finish()
    XCTAssertEqual(output, expected)
  }

  func testMaskingPassesBinaryThroughUntouched() {
    let binary = (0..<4096).map { UInt8($0 % 256) }
    var masker = OutputMasker(secrets: [(SecretBytes(copying: Array("sk-not-in-there".utf8)), Array("sk-…ere".utf8))])
    XCTAssertEqual(masker.feed(binary) + masker.finish(), binary)
  }

  func testEnvironmentFormatsRoundTrip() throws {
    let tricky = "a 'quoted' \"value\" with $HOME, `ticks`, back\\slash,\ttab\nand a newline #hash"
    let variables: [(name: String, value: [UInt8])] = [
      ("PLAIN", Array("sk-plain-123".utf8)), ("TRICKY", Array(tricky.utf8)),
    ]
    XCTAssertThrowsError(try EnvironmentFormat.dotenv.render(variables)) { error in
      guard case VaultError.invalidInput(let message) = error else { return XCTFail("\(error)") }
      XCTAssertTrue(message.contains("TRICKY") && !message.contains("quoted"), message)
    }
    let portable = "in 'single' \"double\" back\\slash a=b \u{00E9}\u{2028}x"
    let dotenv = try DotEnvParser.parse(
      EnvironmentFormat.dotenv.render([("PLAIN", Array("sk-plain-123".utf8)), ("PORTABLE", Array(portable.utf8))]))
    XCTAssertEqual(dotenv.map { String(decoding: $0.value, as: UTF8.self) }, ["sk-plain-123", portable])
    XCTAssertEqual(
      String(decoding: try EnvironmentFormat.dotenv.render([variables[0]]), as: UTF8.self), "PLAIN=sk-plain-123\n")
    let json = try JSONParser.parse(try EnvironmentFormat.json.render(variables))
    guard case .object(let object) = json else { return XCTFail("not an object") }
    XCTAssertEqual(object["TRICKY"], .string(tricky))
    XCTAssertEqual(
      String(decoding: try EnvironmentFormat.shell.render([("Q", Array("it's".utf8))]), as: UTF8.self),
      "export Q='it'\\''s'\n")
  }

  func testTemplatesFindReferencesAndRejectMalformedOnes() throws {
    let template = try Template(
      Array("a: {{ vault://ONE }}\nb: {{vault://TWO}} {{ not-a-ref }} {{ vault://ONE }}".utf8))
    XCTAssertEqual(template.references, ["ONE", "TWO"])
    let rendered = template.render([
      "ONE": SecretBytes(copying: Array("1".utf8)), "TWO": SecretBytes(copying: Array("2".utf8)),
    ])
    XCTAssertEqual(String(decoding: rendered, as: UTF8.self), "a: 1\nb: 2 {{ not-a-ref }} 1")
    for bad in ["{{ vault://bad-name }}", "x\n{{ vault://ONE }", "{{ vault:// }}", "{{ vault://A B }}"] {
      XCTAssertThrowsError(try Template(Array(bad.utf8)), bad) { error in
        guard case VaultError.invalidInput(let message) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(message.hasPrefix("template line"), message)
      }
    }
  }

  /// Injected variables follow the inherited ones (sorted) in plan order; an inherited variable
  /// is dropped only for a variable of exactly its name, however alike the others are.
  func testInjectedVariablesReplaceOnlyInheritedOnesOfTheSameName() throws {
    // The same text as an injected name in other bytes (Kelvin signs for its Ks), 64 bytes
    // longer: the same first byte and length modulo 64, so only the byte comparison tells them
    // apart, as the child does.
    let manyK = "OPENAI_API_" + String(repeating: "K", count: 32)
    let kelvin = "OPENAI_API_" + String(repeating: "\u{212A}", count: 32)
    XCTAssertEqual(kelvin.utf8.count - manyK.utf8.count, 64)
    XCTAssertEqual(kelvin, manyK, "Swift no longer takes a Kelvin sign for a K: the case is moot")
    let values = [
      "OPENAI_API_KEY": "from-vault", "OPENAI_API_KEZ": "z", "PATH_": "p", "B_NAME": "b", "A_NAME": "a",
      String(repeating: "L", count: 70): "long", manyK: "k",
    ]
    let variables = [
      "OPENAI_API_KEY", "OPENAI_API_KEZ", "PATH_", "B_NAME", "A_NAME", String(repeating: "L", count: 70), manyK,
    ]
    .map { (name: $0, value: SecretBytes(copying: Array(values[$0]!.utf8))) }
    // The same first byte and length as an injected name (or a length 64 apart), and not it.
    let inherited = [
      "OPENAI_API_KEY": "inherited", "OPENAI_API_KEX": "kept", "PATH": "/bin", "PATH_X": "x", "A_NAME": "old",
      String(repeating: "L", count: 6): "short", kelvin: "kelvin",
    ]
    func entries(_ options: ChildEnvironment.Options) -> [String] {
      ChildEnvironment.build(inherited: inherited, variables: variables, options: options).environment.entries.map {
        String(decoding: $0, as: UTF8.self)
      }
    }
    let expected = [
      "LLLLLL=short", "OPENAI_API_KEX=kept", kelvin + "=kelvin", "PATH=/bin", "PATH_X=x", "OPENAI_API_KEY=from-vault",
      "OPENAI_API_KEZ=z", "PATH_=p", "B_NAME=b", "A_NAME=a", String(repeating: "L", count: 70) + "=long", manyK + "=k",
    ]
    // Compared as bytes: String equality would not tell the two spellings apart.
    XCTAssertEqual(entries(.init()).map { Array($0.utf8) }, expected.map { Array($0.utf8) })
    let (environment, kept) = ChildEnvironment.build(
      inherited: inherited, variables: variables, options: .init(keepInherited: true))
    XCTAssertEqual(kept.map { Array($0.utf8) }, ["OPENAI_API_KEY", "A_NAME"].map { Array($0.utf8) })
    let texts = environment.entries
    for entry in ["OPENAI_API_KEY=inherited", "A_NAME=old", kelvin + "=kelvin", manyK + "=k"] {
      XCTAssertTrue(texts.contains(Array(entry.utf8)), entry)
    }
    for entry in ["OPENAI_API_KEY=from-vault", "A_NAME=a"] { XCTAssertFalse(texts.contains(Array(entry.utf8)), entry) }
  }

  /// The block execve gets: each entry NUL-terminated, the array NULL-terminated, and every byte
  /// zero after a wipe.
  func testTheEnvironmentBlockIsWhatExecveReadsAndWipesToZero() throws {
    let variables = (0..<300).map { (name: "KEY_\($0)", value: SecretBytes(copying: Array("value-\($0)".utf8))) }
    let (environment, _) = ChildEnvironment.build(inherited: ["HOME": "/h"], variables: variables, options: .init())
    XCTAssertEqual(environment.count, 301)
    let read: [String] = environment.withPointers { envp in
      var texts: [String] = []
      var index = 0
      while let entry = envp[index] {
        texts.append(String(cString: entry))
        index += 1
      }
      return texts
    }
    XCTAssertEqual(read, ["HOME=/h"] + (0..<300).map { "KEY_\($0)=value-\($0)" })
    environment.wipe()
    XCTAssertEqual(environment.entries, [[UInt8]](repeating: [], count: 301))
    let anyByte: Bool = environment.withPointers { envp in
      (0..<301).contains { index in
        let entry = UnsafeRawPointer(envp[index]!)
        let length = read[index].utf8.count
        return (0..<length).contains { entry.load(fromByteOffset: $0, as: UInt8.self) != 0 }
      }
    }
    XCTAssertFalse(anyByte, "a byte of an entry survived the wipe")
  }

  func testEveryCredentialVariableIsStrippedFromTheChild() throws {
    XCTAssertEqual(
      Set(CredentialVariable.allCases.map(\.name)),
      [
        "VAULT_AGENT_KEY", "VAULT_PASSPHRASE", "VAULT_PASSPHRASE_FILE", "VAULT_NEW_PASSPHRASE",
        "VAULT_NEW_PASSPHRASE_FILE",
      ])
    var inherited = ["KEEP": "1"]
    for variable in CredentialVariable.allCases { inherited[variable.name] = "credential" }
    let plan = try InjectionPlan([])
    for clean in [false, true] {
      let (environment, _) = ChildEnvironment.build(
        inherited: inherited, plan: plan, values: [:], options: .init(clean: clean))
      let names = environment.entries.map { String(decoding: $0.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self) }
      for variable in CredentialVariable.allCases { XCTAssertFalse(names.contains(variable.name), variable.name) }
    }
  }
}
