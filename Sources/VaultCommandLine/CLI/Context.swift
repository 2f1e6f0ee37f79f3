import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// What every command needs from its surroundings: the environment, the vault, the terminal,
/// and the secrets it may have to ask for.
struct Context {
  let environment: [String: String]
  let arguments: ParsedArguments
  let location: VaultLocation

  init(environment: [String: String], arguments: ParsedArguments) throws {
    self.environment = environment
    self.arguments = arguments
    self.location = try VaultLocation.resolve(fileOption: arguments.value("file"), environment: environment)
  }

  var store: VaultStore {
    var store = VaultStore(
      path: location.path, generationRecords: GenerationRecords.forUser(environment: environment),
      warn: { Console.warningOnce($0) })
    if let text = environment["VAULT_LOCK_TIMEOUT"], let seconds = Double(text), seconds >= 0 {
      store.lockTimeout = seconds
    }
    return store
  }

  /// The vault's passphrase: `VAULT_PASSPHRASE_FILE`, else `VAULT_PASSPHRASE`, else a no-echo
  /// prompt on the terminal. Never an argument.
  func passphrase() throws -> SecretBytes {
    try PassphraseSource(
      environment: environment, fileVariable: .passphraseFile, valueVariable: .passphrase
    )
    .read(prompt: "Passphrase for \(location.path): ", confirm: false)
  }

  /// What opens the vault: an unlock session of this login session when one holds this file's
  /// key, else a member's identity (team vaults), else the passphrase (asked at most once per credential, however often it is used).
  var credential: VaultCredential {
    let sessions = UnlockSessions(environment: environment)
    let remembered = RememberedPassphrase(read: passphrase)
    let identities = identityFiles
    let source = PassphraseSource(environment: environment, fileVariable: .passphraseFile, valueVariable: .passphrase)
    return VaultCredential(
      session: { sessions.record(for: $0) }, identities: { try identities.load() },
      mayAskAPerson: !source.isAtHand, passphrase: remembered.value)
  }

  /// The identity files a team vault's members are tried with.
  var identityFiles: IdentityFiles {
    IdentityFiles(environment: environment, option: arguments.value("identity"))
  }

  /// A passphrase being set: from `VAULT_NEW_PASSPHRASE_FILE` / `VAULT_NEW_PASSPHRASE` when
  /// `forChange`, else from the usual variables; on a terminal it is asked twice.
  func newPassphrase(forChange: Bool) throws -> SecretBytes {
    let source =
      forChange
      ? PassphraseSource(
        environment: environment, fileVariable: .newPassphraseFile, valueVariable: .newPassphrase)
      : PassphraseSource(
        environment: environment, fileVariable: .passphraseFile, valueVariable: .passphrase)
    return try source.read(prompt: "New passphrase: ", confirm: true)
  }

  /// A provider key's value: from stdin when it is not a terminal (one trailing newline
  /// dropped), else from a no-echo prompt.
  func readValue(for name: String) throws -> SecretBytes {
    if !Console.stdinIsTerminal {
      // One byte more than a value may hold plus CRLF, so an oversized value is caught here.
      var bytes = try readStandardInput(limit: SecretValue.maximumByteCount + 3)
      defer { for index in bytes.indices { bytes[index] = 0 } }
      return try SecretValue.validated(SecretValue.droppingTrailingNewline(bytes))
    }
    guard let terminal = Terminal.open() else { throw VaultError.usage("no value on stdin and no terminal to ask on") }
    let typed = try terminal.readSecret(prompt: "Value for \(name): ")
    return try typed.withUnsafeBytes { try SecretValue.validated(Array($0)) }
  }

  /// The agent key token: `VAULT_AGENT_KEY`, else `--agent-key-file`, else standard input when
  /// it is not a terminal, else a no-echo prompt. Malformed input is "access not permitted".
  func agentToken() throws -> AgentToken {
    if let text = environment[CredentialVariable.agentKey.name], !text.isEmpty {
      return try parseToken(Array(text.utf8))
    }
    if let secret = ProcessCredentials.value(.agentKey) {
      var bytes = secret.copyBytes()
      defer { for index in bytes.indices { bytes[index] = 0 } }
      return try parseToken(bytes)
    }
    if let path = arguments.value("agent-key-file") {
      let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
      guard descriptor >= 0 else {
        // Not echoed when it looks like the token itself, pasted where its path belongs.
        let shown = PastedSecret.looksLikeSecret(path) ? "named by --agent-key-file" : path
        throw VaultError.io("cannot read the agent key file \(shown): \(String(cString: strerror(errno)))")
      }
      defer { close(descriptor) }
      warnIfShared(
        descriptor, what: PastedSecret.looksLikeSecret(path) ? "the agent key file" : "agent key file \(path)")
      var bytes = [UInt8](repeating: 0, count: 256)
      defer { for index in bytes.indices { bytes[index] = 0 } }
      let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      guard count >= 0 else { throw VaultError.io("cannot read the agent key file \(path)") }
      return try parseToken(Array(bytes[0..<count]))
    }
    if !Console.stdinIsTerminal {
      var bytes = try readStandardInput(limit: 256, tooLong: .accessNotPermitted(.malformed))
      defer { for index in bytes.indices { bytes[index] = 0 } }
      return try parseToken(bytes)
    }
    guard let terminal = Terminal.open() else {
      throw VaultError.usage("no agent key: set VAULT_AGENT_KEY or pass --agent-key-file")
    }
    return try terminal.readSecret(prompt: "Agent key: ").withUnsafeBytes { try parseToken(Array($0)) }
  }

  private func parseToken(_ bytes: [UInt8]) throws -> AgentToken {
    do {
      return try AgentToken.parse(bytes)
    } catch let error as AgentAccessError {
      throw VaultError.accessNotPermitted(error)
    }
  }

  /// Asks before a destructive change: `--yes` answers for scripts; without it and without a
  /// terminal the answer is no.
  func confirm(_ question: String, refusal: String) throws {
    if arguments.flag("yes") { return }
    guard let terminal = Terminal.open() else { throw VaultError.notConfirmed(refusal) }
    guard try terminal.confirm(question) else { throw VaultError.notConfirmed("not confirmed; nothing was changed") }
  }

  /// Whether to print colour: only to a terminal, and never when `NO_COLOR` is set.
  var useColour: Bool {
    Console.stdoutIsTerminal && environment["NO_COLOR"].map(\.isEmpty) ?? true
  }
}

/// A passphrase read once and handed out again, so a command that checks it early (at a
/// terminal, before a value is pasted) and uses it later asks only once.
final class RememberedPassphrase {
  private let read: () throws -> SecretBytes
  private var secret: SecretBytes?

  init(read: @escaping () throws -> SecretBytes) {
    self.read = read
  }

  func value() throws -> SecretBytes {
    if let secret { return secret }
    let fresh = try read()
    secret = fresh
    return fresh
  }
}

/// Warns, as ssh does for private keys, when a file holding a secret can be read or written by
/// group or others (mode & 077). A warning, not a refusal: CI systems often hand secrets over in
/// files of mode 0644, and refusing would break them without protecting anything already read.
func warnIfShared(_ descriptor: Int32, what: String) {
  var status = stat()
  guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_mode & 0o077 != 0 else {
    return
  }
  let mode = String(status.st_mode & 0o777, radix: 8)
  Console.warning("\(what) is accessible by group or others (mode \(mode)); it holds a secret: chmod 600 it")
}

/// Reads all of stdin, refusing more than `limit` bytes with `tooLong`.
func readStandardInput(limit: Int, tooLong: VaultError = .invalidInput("the value is longer than 64 KiB")) throws
  -> [UInt8]
{
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  defer { for index in chunk.indices { chunk[index] = 0 } }
  while true {
    let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
    if count < 0 {
      if errno == EINTR { continue }
      throw VaultError.io("cannot read standard input")
    }
    if count == 0 { return bytes }
    bytes.append(contentsOf: chunk[0..<count])
    if bytes.count > limit {
      for index in bytes.indices { bytes[index] = 0 }
      throw tooLong
    }
  }
}

/// One way a passphrase can arrive, in order of preference: a file named by a variable, the
/// variable itself, or the terminal.
struct PassphraseSource {
  let environment: [String: String]
  let fileVariable: CredentialVariable
  let valueVariable: CredentialVariable

  /// Whether the passphrase comes from the file or the variable, not from a prompt.
  var isAtHand: Bool {
    if let path = environment[fileVariable.name], !path.isEmpty { return true }
    if let value = environment[valueVariable.name], !value.isEmpty { return true }
    return ProcessCredentials.value(valueVariable) != nil
  }

  func read(prompt: String, confirm: Bool) throws -> SecretBytes {
    if let path = environment[fileVariable.name], !path.isEmpty {
      let descriptor = open(path, O_RDONLY | O_CLOEXEC)
      // The path is not echoed: a passphrase pasted into the variable by mistake would land on
      // stderr and in CI logs.
      guard descriptor >= 0 else {
        throw VaultError.io("cannot read the file named by \(fileVariable.name): \(String(cString: strerror(errno)))")
      }
      defer { close(descriptor) }
      warnIfShared(descriptor, what: "the file named by \(fileVariable.name)")
      var bytes = [UInt8]()
      defer { for index in bytes.indices { bytes[index] = 0 } }
      var chunk = [UInt8](repeating: 0, count: 1024)
      defer { for index in chunk.indices { chunk[index] = 0 } }
      while true {
        let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count >= 0 else { throw VaultError.io("cannot read the file named by \(fileVariable.name)") }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
        guard bytes.count <= 4096 else { throw VaultError.invalidInput("\(fileVariable.name) holds more than 4 KiB") }
      }
      // One trailing newline (LF or CRLF) dropped by counting, not by copying the passphrase.
      var count = bytes.count
      if count > 0, bytes[count - 1] == 0x0A {
        count -= 1
        if count > 0, bytes[count - 1] == 0x0D { count -= 1 }
      }
      return try checked(bytes[0..<count])
    }
    if let value = environment[valueVariable.name], !value.isEmpty {
      return try checked(value.utf8)
    }
    // In the binary the variable never reached `environment`: it waits in locked memory.
    if let secret = ProcessCredentials.value(valueVariable) {
      return try secret.withUnsafeBytes { try checked($0) }
    }
    guard let terminal = Terminal.open() else {
      throw VaultError.passphraseUnavailable(fileVariable: fileVariable.name, valueVariable: valueVariable.name)
    }
    let first = try terminal.readSecret(prompt: prompt)
    if confirm {
      let second = try terminal.readSecret(prompt: "Repeat the passphrase: ")
      let same = first.withUnsafeBytes { one in second.withUnsafeBytes { two in one.elementsEqual(two) } }
      guard same else { throw VaultError.invalidInput("the two passphrases differ") }
    }
    return try first.withUnsafeBytes { try checked($0) }
  }

  private func checked<Bytes: Collection>(_ bytes: Bytes) throws -> SecretBytes where Bytes.Element == UInt8 {
    guard !bytes.isEmpty else { throw VaultError.invalidInput("the passphrase is empty") }
    return SecretBytes(copying: bytes)
  }
}

/// Warns, without refusing, when a passphrase being set has fewer than 12 characters: scrypt
/// slows guessing, it does not make a short passphrase strong.
func warnIfShort(_ passphrase: SecretBytes) {
  let characters = KeyAdvice.scalarCount(passphrase)
  guard characters < 12 else { return }
  Console.warning(
    "the new passphrase has only \(characters) character\(characters == 1 ? "" : "s"); 12 or more (several words) resist guessing much better"
  )
}
