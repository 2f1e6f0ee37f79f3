import XCTest

@testable import VaultCore

/// The names a provider key is never injected under (docs/SECURITY.md, "Names a key is injected
/// under"): one policy for linking, importing and running.
final class InjectedNamePolicyTests: XCTestCase {
  /// Every name the outside review (issue 9) ran code or moved traffic through, or found
  /// accepted, and their lowercase forms where programs read those too.
  static let reviewNames = [
    "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "PERLLIB", "PERL5LIB", "PERL5DB", "GIT_EXEC_PATH",
    "GIT_ASKPASS", "SSH_ASKPASS", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND", "GIT_SSH", "GIT_PAGER", "GIT_EDITOR",
    "LUA_INIT", "PYTHONWARNINGS", "PYTHONBREAKPOINT", "PYTHONUSERBASE", "PYTHONINSPECT", "GOFLAGS", "RUSTC_WRAPPER",
    "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH", "OPENSSL_CONF", "OPENSSL_ENGINES", "GLIBC_TUNABLES", "ZDOTDIR",
    "SHELLOPTS", "BASHOPTS", "LESSOPEN", "MANPAGER", "BROWSER", "ERL_AFLAGS", "CLASSPATH", "GEM_PATH",
    "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED", "HTTP_PROXY",
    "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
    "OPENAI_API_BASE", "AZURE_API_BASE", "PIP_INDEX_URL", "npm_config_registry",
  ]

  /// The names refused before the review, still refused.
  static let loaderNames = [
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "CDPATH",
    "NODE_OPTIONS", "NODE_PATH", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PERL5OPT", "RUBYOPT", "RUBYLIB",
    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "GCONV_PATH", "MALLOC_CONF", "PS4", "PROMPT_COMMAND",
    "GIT_SSH_COMMAND", "EDITOR", "VISUAL", "PAGER", "TMPDIR", "DYLD_INSERT_LIBRARIES",
  ]

  /// More members of the same families, which no list of names above spells out.
  static let familyNames = [
    "GIT_TEMPLATE_DIR", "GIT_SEQUENCE_EDITOR", "PYTHONSAFEPATH", "NODE_REPL_EXTERNAL_MODULE", "GOPROXY", "GOTOOLCHAIN",
    "GO111MODULE", "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", "RUSTFLAGS", "MAVEN_OPTS", "SUDO_ASKPASS",
    "KUBECONFIG", "DOCKER_HOST", "OLLAMA_HOST", "AZURE_OPENAI_ENDPOINT", "CURL_CA_BUNDLE", "XDG_CONFIG_HOME",
    "LD_ANYTHING", "Path", "ld_preload", "VAULT_FILE", "VAULT_USER", "VAULT_SOMETHING_NEW", "vault_passphrase",
    "COMPlus_EnableDiagnostics", "PHPRC", "TERMINFO", "NO_PROXY", "no_proxy", "YARN_RC_FILENAME", "BUNDLE_GEMFILE",
  ]

  func testEveryNameTheReviewFoundIsRefusedByEveryCheck() {
    for name in Self.reviewNames + Self.loaderNames + Self.familyNames {
      XCTAssertNotNil(InjectedNamePolicy.refusal(for: name), name)
      XCTAssertThrowsError(try Names.validateKeyName(name), name)
      XCTAssertThrowsError(try Names.validateEnvironmentName(name), name)
    }
  }

  /// The run cache's check over bytes (`Names.isInjectable`) says what the throwing check says,
  /// for every name above, for edge cases of the identifier rule, and for random byte strings.
  func testTheCheckOverBytesAgreesWithTheThrowingCheck() {
    var names = Self.reviewNames + Self.loaderNames + Self.familyNames
    names += ["", "A", "_", "1A", "A1", "A-B", "Ä", "MY API", String(repeating: "A", count: 128)]
    names += [String(repeating: "A", count: 129), "OPENAI_API_KEY", "GOOGLE_API_KEY", "GOFLAGS", "VAULT_"]
    for name in names {
      let accepted = (try? Names.validateEnvironmentName(name)) != nil
      var copy = name
      XCTAssertEqual(copy.withUTF8 { Names.isInjectable(bytes: $0) }, accepted, name)
    }
    // Raw bytes as a damaged cache record may hold them, invalid UTF-8 included: the bytes are
    // checked as they are, the throwing check sees them as a string.
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("AZaz09_-GOLDPATHVAULT.é\u{0}".utf8) + [0x80, 0xC3, 0xFF]
    for _ in 0..<5_000 {
      let count = Int.random(in: 0...12, using: &generator)
      let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
      let accepted = (try? Names.validateEnvironmentName(String(decoding: bytes, as: UTF8.self))) != nil
      XCTAssertEqual(bytes.withUnsafeBufferPointer { Names.isInjectable(bytes: $0) }, accepted, "\(bytes)")
    }
  }

  /// The policy's byte-level matching (indices by first and last byte, masks) against the
  /// plainest reading of its lists: uppercase the name, then prefix, exact name, suffix, GO.
  func testTheFastMatchAgreesWithAPlainReadingOfTheLists() {
    func plainRefusal(_ name: String) -> Bool {
      let upper = String(decoding: name.utf8.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
      if upper.hasPrefix("VAULT_") { return true }
      if InjectedNamePolicy.refusedNames.contains(upper) { return true }
      if InjectedNamePolicy.refusedPrefixes.contains(where: { upper.utf8.starts(with: $0.utf8) }) { return true }
      if InjectedNamePolicy.refusedSuffixes.contains(where: { upper.utf8.reversed().starts(with: $0.utf8.reversed()) })
      {
        return true
      }
      return upper.utf8.starts(with: "GO".utf8) && upper.utf8.count > 2 && !upper.contains("_")
    }
    var names = Self.reviewNames + Self.loaderNames + Self.familyNames
    names += InjectedNamePolicy.refusedPrefixes + InjectedNamePolicy.refusedSuffixes
    names += Array(InjectedNamePolicy.refusedNames) + InjectedNamePolicy.refusedNames.map { $0.lowercased() }
    names += InjectedNamePolicy.refusedNames.map { $0 + "X" } + InjectedNamePolicy.refusedNames.map { "X" + $0 }
    names += InjectedNamePolicy.refusedNames.map { String($0.dropLast()) }
    var generator = SystemRandomNumberGenerator()
    // Pieces of the lists glued together and cut anywhere: near misses of every kind.
    let pieces = InjectedNamePolicy.refusedPrefixes + InjectedNamePolicy.refusedSuffixes + ["A", "_", "KEY", "go", "1"]
    for _ in 0..<20_000 {
      let glued = (0..<Int.random(in: 1...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
        .joined()
      let cut = glued.dropFirst(Int.random(in: 0...2, using: &generator)).dropLast(
        Int.random(in: 0...2, using: &generator))
      names.append(Bool.random(using: &generator) ? String(cut) : String(cut).lowercased())
    }
    for name in names { XCTAssertEqual(InjectedNamePolicy.refusal(for: name) != nil, plainRefusal(name), name) }
  }

  /// The identifier rule over bytes against the rule as written, `[A-Za-z_][A-Za-z0-9_]*`, for
  /// every byte first and every byte after a letter.
  func testTheIdentifierRuleHoldsForEveryByte() {
    for byte in UInt8.min...UInt8.max {
      let letter = (65...90).contains(byte) || (97...122).contains(byte) || byte == 95
      let digit = (48...57).contains(byte)
      XCTAssertEqual([byte].withUnsafeBufferPointer { Names.isIdentifier(bytes: $0) }, letter, "first \(byte)")
      XCTAssertEqual(
        [65, byte].withUnsafeBufferPointer { Names.isIdentifier(bytes: $0) }, letter || digit, "after A: \(byte)")
    }
  }

  func testEveryProviderVariableAndOrdinaryKeyNameIsAllowed() throws {
    let catalogue = ProviderCatalogue.providers.flatMap(\.variables)
    XCTAssertGreaterThan(catalogue.count, 15)
    let ordinary = [
      "MY_API", "OPENAI_PROD", "OPENAI_MAIN", "ANTHROPIC_MAIN", "GITHUB_TOKEN", "GOOGLE_API_KEY", "GROQ_API_KEY",
      "PERPLEXITY_API_KEY", "GEMINI_API_KEY", "AWS_SECRET_ACCESS_KEY", "_PRIVATE", "a", "lower_case",
    ]
    for name in catalogue + ordinary {
      XCTAssertNil(InjectedNamePolicy.refusal(for: name), name)
      XCTAssertNoThrow(try Names.validateEnvironmentName(name), name)
    }
  }

  func testTheRunTimeCheckRefusesANameThatOnlyTheFileHolds() throws {
    // An agent cannot check the file's MAC: a refused --env name edited into the file must stop
    // the plan, whatever the link-time checks did.
    for name in ["GIT_CONFIG_COUNT", "PERLLIB", "https_proxy"] {
      let key = ProviderKey(
        id: try RecordID.random(), name: "PLAIN_KEY", provider: "openai", models: [], environmentNames: [name],
        masked: "********", created: .now(), updated: .now(), sealedDataKey: [], sealedValue: [])
      XCTAssertThrowsError(
        try InjectionPlan(KeySelection.select(from: [key], readable: nil, selectors: KeySelectors())), name
      ) { error in
        guard case VaultError.invalidInput(let message) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(message.contains(name), message)
      }
    }
  }
}
