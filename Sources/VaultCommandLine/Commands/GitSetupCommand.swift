import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// `vault git-setup`: lets git merge and diff the vault file of a work tree with `vault` itself.
/// Writes the path's line in `.gitattributes` (committed, shared) and the two drivers in the
/// clone's own git config (not shared: every clone runs it once).
enum GitSetupCommand: Command {
  static let spec = CommandSpec(
    name: "git-setup",
    summary: "Let git merge and diff this vault record by record: .gitattributes and the local git config.",
    discussion: """
      Run inside the git work tree that holds the vault file (--file or VAULT_FILE). Adds
      '/<path> merge=llm-vault diff=llm-vault' to .gitattributes at the top of the work tree
      (other lines kept; run again, it changes nothing), and sets in .git/config:
        merge.llm-vault.name, merge.llm-vault.driver = <this vault> merge-driver %O %A %B %P
        diff.llm-vault.textconv = <this vault> diff-text
      Commit .gitattributes; every clone runs 'vault git-setup' once, since git config is not
      shared. git runs the drivers with the absolute path of this vault binary: run git-setup
      again after moving it.
      """)

  static let attributes = ["merge=llm-vault", "diff=llm-vault"]

  static func run(_ context: Context) throws {
    let environment = context.environment
    let given = context.location.path
    guard let vault = realPath(given) else { throw VaultError.vaultNotFound(path: given) }
    let directory = vault.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    let topLevel = try GitProcess.run(["-C", directory, "rev-parse", "--show-toplevel"], environment: environment)
    guard topLevel.status == 0, let top = topLevel.stdout.split(separator: "\n").first.map(String.init),
      let root = realPath(top)
    else {
      throw VaultError.invalidInput("\(given) is not inside a git work tree (git: \(topLevel.complaint))")
    }
    guard vault.hasPrefix(root == "/" ? "/" : root + "/") else {
      throw VaultError.invalidInput("\(given) is outside the git work tree \(root)")
    }
    let relative = String(vault.dropFirst(root == "/" ? 1 : root.count + 1))
    guard relative.unicodeScalars.allSatisfy(isPlainPathScalar) else {
      throw VaultError.invalidInput(
        "the vault's path in the work tree has characters .gitattributes would need quoted; add its line by hand: <path> \(attributes.joined(separator: " "))"
      )
    }
    let change = try updateAttributes(root + "/.gitattributes", pattern: "/" + relative)
    Console.out(".gitattributes: \(change)\n")
    // The lock, the usage state and a save's temporary file are each clone's own, never shared.
    let slash = relative.lastIndex(of: "/")
    let (folder, name) =
      slash.map { (String(relative[...$0]), String(relative[relative.index(after: $0)...])) } ?? ("", relative)
    let ignored = ["/\(relative).lock", "/\(relative).state*", "/\(folder).\(name).tmp-*"]
    let added = try addIgnoreLines(root + "/.gitignore", ignored)
    Console.out(
      ".gitignore: "
        + (added.isEmpty ? "already ignores this clone's own files" : "added \(added.joined(separator: " "))") + "\n")

    guard let binary = realPath("/proc/self/exe") else { throw VaultError.io("cannot find this vault binary") }
    let vaultCommand = shellQuoted(binary)
    let settings = [
      ("merge.llm-vault.name", "llm-vault: merge vault files record by record"),
      ("merge.llm-vault.driver", "\(vaultCommand) merge-driver %O %A %B %P"),
      ("diff.llm-vault.textconv", "\(vaultCommand) diff-text"),
    ]
    for (name, value) in settings {
      let set = try GitProcess.run(["-C", root, "config", "--local", name, value], environment: environment)
      guard set.status == 0 else { throw VaultError.io("git config \(name) failed: \(set.complaint)") }
      Console.out("git config \(name) \(shellQuoted(value))\n")
    }
    Console.err("vault: hint: commit .gitattributes and .gitignore; every other clone runs 'vault git-setup' once\n")
  }

  /// Adds or completes the line of `pattern` in the attributes file at `path`; returns what it
  /// did. Other lines, and other attributes on that line, are kept as they are.
  static func updateAttributes(_ path: String, pattern: String) throws -> String {
    let existing = try readText(path) ?? ""
    var lines = existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    let unanchored = String(pattern.dropFirst())
    let wanted: String
    let outcome: String
    if let index = lines.firstIndex(where: { line in
      let first = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
      return first == pattern || first == unanchored
    }) {
      let fields = lines[index].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      let kept = fields.dropFirst().filter { attribute in
        let name = attribute.drop { $0 == "-" || $0 == "!" }.split(separator: "=").first.map(String.init)
        return name != "merge" && name != "diff"
      }
      wanted = ([fields[0]] + kept + attributes).joined(separator: " ")
      if wanted == lines[index] { return "already has '\(wanted)'" }
      lines[index] = wanted
      outcome = "updated '\(wanted)'"
    } else {
      wanted = ([pattern] + attributes).joined(separator: " ")
      lines.append(wanted)
      outcome = "added '\(wanted)'"
    }
    try VaultFile.replace(path, with: Array((lines.joined(separator: "\n") + "\n").utf8))
    // A file to commit and share, not a secret: the usual mode, not the vault's 0600.
    _ = chmod(path, 0o644)
    return outcome
  }

  /// Appends to the ignore file at `path` each of `patterns` it does not have; returns those added.
  static func addIgnoreLines(_ path: String, _ patterns: [String]) throws -> [String] {
    let existing = try readText(path) ?? ""
    let lines = Set(existing.split(separator: "\n").map { String($0.filter { $0 != " " && $0 != "\t" && $0 != "\r" }) })
    let missing = patterns.filter { !lines.contains($0) }
    guard !missing.isEmpty else { return [] }
    let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
    try VaultFile.replace(path, with: Array((existing + separator + missing.joined(separator: "\n") + "\n").utf8))
    _ = chmod(path, 0o644)
    return missing
  }

  /// Letters, digits and `._-/+@`: a path written in .gitattributes as it is.
  static func isPlainPathScalar(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar {
    case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-", "/", "+", "@": return true
    default: return false
    }
  }

  /// `text` as one word for sh, which git runs its drivers with: as it is when every character
  /// is plain, else in single quotes.
  static func shellQuoted(_ text: String) -> String {
    if !text.isEmpty, text.unicodeScalars.allSatisfy({ isPlainPathScalar($0) || $0 == "%" }) {
      return text
    }
    return "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
  }

  static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// The file's text, or nil when there is none; at most 1 MiB.
  static func readText(_ path: String) throws -> String? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else {
      if errno == ENOENT { return nil }
      throw VaultError.io("cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count >= 0 else { throw VaultError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
      if count == 0 { break }
      bytes.append(contentsOf: chunk[0..<count])
      guard bytes.count <= 1 << 20 else { throw VaultError.invalidInput("\(path) is larger than 1 MiB") }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
