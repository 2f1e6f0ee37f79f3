import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

enum ImportCommand: Command {
  static let spec = CommandSpec(
    name: "import", summary: "Move the keys of a .env file into the vault.",
    arguments: [.init(name: "file", help: "A .env file: NAME=value lines ('-' for standard input).")],
    options: [
      .init(name: "provider", value: "<provider>", help: "Link every imported key to this provider."),
      .init(name: "skip-existing", help: "Skip names already in the vault instead of failing."),
    ],
    discussion: """
      Known variables such as OPENAI_API_KEY are linked to their provider. Nothing is imported when
      any line is invalid or any name exists already (unless --skip-existing). The .env file is left
      as it was: delete it yourself once the import is done.
      """)

  static func run(_ context: Context) throws {
    let path = context.arguments.positionals[0]
    var bytes = try readFile(path)
    defer { for index in bytes.indices { bytes[index] = 0 } }
    let entries = try DotEnvParser.parse(bytes)
    guard !entries.isEmpty else { throw VaultError.invalidInput("\(path) holds no NAME=value lines") }
    let provider = try context.arguments.value("provider").map(Names.normalizedProvider)
    var values: [(entry: DotEnvParser.Entry, value: SecretBytes)] = []
    for entry in entries {
      do {
        try Names.validateKeyName(entry.name)
        values.append((entry, try SecretValue.validated(entry.value)))
      } catch let error as VaultError {
        throw VaultError.invalidInput(".env line \(entry.line): \(error.message)")
      }
    }
    let skipExisting = context.arguments.flag("skip-existing")
    let (added, skipped) = try context.store.update(passphrase: context.passphrase) { document, keyring in
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
    Console.err("vault: imported \(added.count) key(s)\(added.isEmpty ? "" : ": " + added.joined(separator: ", "))\n")
    if !skipped.isEmpty {
      Console.err("vault: skipped \(skipped.count) existing: \(skipped.joined(separator: ", "))\n")
    }
    if path != "-" {
      Console.err("vault: hint: \(path) still holds the keys in plaintext; delete it when you are done\n")
    }
  }

  /// The names, or the first ten of them and a count, so a large import stays one short line.
  private static func summary(_ names: [String]) -> String {
    guard !names.isEmpty else { return "" }
    let shown = names.prefix(10).joined(separator: ", ")
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
}
