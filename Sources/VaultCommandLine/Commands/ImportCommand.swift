import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

enum ImportCommand: Command {
  static let spec = CommandSpec(
    name: "import", summary: "Copy the credentials of a .env file into the vault.",
    arguments: [.init(name: "file", help: "A .env file: NAME=value lines ('-' for standard input).")],
    options: [
      .init(name: "provider", value: "<provider>", help: "Link every imported key to this provider."),
      .init(name: "skip-existing", help: "Skip names already in the vault instead of failing."),
      .init(name: "all", help: "Import every line, not only those that look like credentials."),
    ],
    discussion: """
      Only lines that look like credentials are imported: names ending in _KEY, _TOKEN, _SECRET or
      _PASSWORD, the provider variables vault knows (OPENAI_API_KEY, ...), and values shaped like a
      known provider's key; the other names are listed as skipped (--all imports them too). Known
      variables are linked to their provider. Nothing is imported when any line is invalid or any
      name exists already (unless --skip-existing). The import copies: the .env file is left as it
      was; delete it yourself once the import is done.
      """)

  static func run(_ context: Context) throws {
    let path = context.arguments.positionals[0]
    var bytes = try readFile(path)
    defer { for index in bytes.indices { bytes[index] = 0 } }
    let entries = try DotEnvParser.parse(bytes)
    guard !entries.isEmpty else { throw VaultError.invalidInput("\(path) holds no NAME=value lines") }
    let provider = try context.arguments.value("provider").map(Names.normalizedProvider)
    var values: [(entry: DotEnvParser.Entry, value: SecretBytes)] = []
    var notCredentials: [String] = []
    for entry in entries {
      do {
        let value = try SecretValue.validated(entry.value)
        guard context.arguments.flag("all") || KeyAdvice.looksLikeCredential(name: entry.name, value: value) else {
          notCredentials.append(entry.name)
          continue
        }
        try Names.validateKeyName(entry.name)
        values.append((entry, value))
      } catch let error as VaultError {
        throw VaultError.invalidInput(".env line \(entry.line): \(error.message)")
      }
    }
    guard !values.isEmpty else {
      throw VaultError.invalidInput(
        "\(path) holds no line that looks like a credential (skipped\(summary(notCredentials))); --all imports every line"
      )
    }
    if !notCredentials.isEmpty {
      Console.err(
        "vault: skipped \(notCredentials.count) line(s) that do not look like credentials\(summary(notCredentials)) (--all imports them)\n"
      )
    }
    let skipExisting = context.arguments.flag("skip-existing")
    let (added, skipped) = try context.store.update(credential: context.credential) { document, keyring in
      var added: [String] = []
      var skipped: [String] = []
      let now = Timestamp.now()
      for (entry, value) in values {
        if document.index(of: entry.name) != nil {
          guard skipExisting else { throw VaultError.keyExists(name: entry.name) }
          skipped.append(entry.name)
          continue
        }
        try document.addKey(
          name: entry.name, value: value, provider: provider ?? ProviderCatalogue.provider(forVariable: entry.name),
          models: [], environmentNames: [], keyring: keyring, now: now)
        added.append(entry.name)
      }
      return (added, skipped)
    }
    Console.err("vault: imported \(added.count) key(s)\(added.isEmpty ? "" : ": " + Self.firstNames(added))\n")
    if !skipped.isEmpty {
      Console.err("vault: skipped \(skipped.count) existing: \(Self.firstNames(skipped))\n")
    }
    if let provider, let unknown = KeyAdvice.unknownProvider(provider) { Console.warning(unknown) }
    let addedNames = Set(added)
    for (entry, value) in values where addedNames.contains(entry.name) {
      let linked = provider ?? ProviderCatalogue.provider(forVariable: entry.name)
      for warning in KeyAdvice.warnings(name: entry.name, provider: linked, value: value)
      where !warning.hasPrefix("provider '") {
        Console.warning(warning)
      }
    }
    if path != "-" {
      Console.err("vault: hint: \(path) still holds the keys in plaintext; delete it when you are done\n")
    }
  }

  /// The names, or the first ten of them and a count, so a large import stays one short line.
  private static func summary(_ names: [String]) -> String {
    guard !names.isEmpty else { return "" }
    let shown = names.prefix(10).map(DisplaySafety.sanitized).joined(separator: ", ")
    return ": " + shown + (names.count > 10 ? " and \(names.count - 10) more" : "")
  }

  private static func readFile(_ path: String) throws -> [UInt8] {
    if path == "-" {
      return try readStandardInput(limit: 16 << 20, tooLong: .invalidInput("the .env input is larger than 16 MiB"))
    }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else {
      if errno == ENOENT { throw VaultError.invalidInput("no file at \(path)") }
      throw VaultError.io("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
      throw VaultError.invalidInput("\(path) is not a regular file")
    }
    guard status.st_size <= 16 << 20 else { throw VaultError.invalidInput("\(path) is larger than 16 MiB") }
    var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, $0.count - offset) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      offset += count
    }
    return Array(bytes[0..<offset])
  }

  /// The first 20 names, then how many more: a dotenv of thousands would otherwise be one line
  /// of that many.
  static func firstNames(_ names: [String]) -> String {
    names.prefix(20).joined(separator: ", ") + (names.count > 20 ? " and \(names.count - 20) more" : "")
  }
}
