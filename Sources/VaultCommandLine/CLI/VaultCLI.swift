import VaultCore
import VaultCrypto

/// A command with subcommands (`vault agent-key ...`). Its overview is built only when shown: built
/// for every group whenever `groups` was first read, it cost every `vault run` a third of a
/// million instructions of string building.
struct CommandGroup: Sendable {
  let name: String
  let summary: String
  let overview: @Sendable () -> String
  let commands: [any Command.Type]
}

/// A subcommand: its spec (for parsing and help) and what it does.
protocol Command: Sendable {
  static var spec: CommandSpec { get }
  /// Whether this process may do TLS or check X.509 certificates (`vault serve`). Every other
  /// command starts OpenSSL lean (`OpenSSLStartup.lean`).
  static var usesTLS: Bool { get }
  static func run(_ context: Context) throws
}

extension Command {
  static var usesTLS: Bool { false }
}

/// The entry point: picks the subcommand, parses, runs, and turns every error into one line on
/// stderr and a documented exit code.
public enum VaultCLI {
  static let version = "0.1.0"

  static let commands: [any Command.Type] = [
    InitCommand.self, AddCommand.self, ListCommand.self, SearchCommand.self, ShowCommand.self, GetCommand.self,
    EditCommand.self, LinkCommand.self, UnlinkCommand.self, RemoveCommand.self, ImportCommand.self,
    PasswdCommand.self, VerifyCommand.self, DoctorCommand.self, UnlockCommand.self, LockCommand.self,
    StatusCommand.self, RunCommand.self, EnvCommand.self, InjectCommand.self, ServeCommand.self, GitSetupCommand.self,
    MergeDriverCommand.self, DiffTextCommand.self, CompletionCommand.self,
  ]
  /// Commands with subcommands, shown as one line each in the overview.
  static let groups: [CommandGroup] = [
    CommandGroup(
      name: "agent-key", summary: "Issue, list, rotate and revoke agent keys.", overview: { AgentKeyCommands.overview },
      commands: AgentKeyCommands.subcommands),
    CommandGroup(
      name: "config", summary: "Read or change a vault setting (agent-keys.limit, provider.<id>.base-url).",
      overview: { configOverview }, commands: [ConfigGetCommand.self, ConfigSetCommand.self]),
    CommandGroup(
      name: "gateway", summary: "Ask the running gateway ('vault serve') how it is doing.",
      overview: { gatewayOverview }, commands: [GatewayStatusCommand.self]),
    CommandGroup(
      name: "identity", summary: "Create or show your age identity for team vaults.",
      overview: { IdentityCommands.overview }, commands: IdentityCommands.subcommands),
    CommandGroup(
      name: "member", summary: "Add, list and remove the members of a team vault.",
      overview: { MemberCommands.overview }, commands: MemberCommands.subcommands),
  ]

  static let gatewayOverview = """
    OVERVIEW: The local gateway ('vault serve').

    USAGE: vault gateway status [--json]

    """

  static let configOverview = """
    OVERVIEW: Vault settings.

    USAGE: vault config get <setting>
           vault config set <setting> <value>

    SETTINGS:
      agent-keys.limit          How many agent keys may be active at once (default: 10).
      provider.<id>.base-url    Where the gateway sends that provider's requests: https://...,
                                or http:// to a loopback server; 'none' restores the default.

    """

  static func command(named name: String) -> (any Command.Type)? {
    (commands + groups.flatMap(\.commands)).first { $0.spec.name == name }
  }

  /// Runs the command line; the process exit status (a child's own under `vault run --mask`).
  public static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
    do {
      return try dispatch(arguments, environment: environment).rawValue
    } catch let exit as ChildExit {
      return exit.code
    } catch {
      return ExitCode.failure.rawValue
    }
  }

  private static func dispatch(_ arguments: [String], environment: [String: String]) throws -> ExitCode {
    var arguments = arguments
    // Global options before the subcommand: `vault --file X list` is `vault list --file X`.
    var leading: [String] = []
    while let first = arguments.first, first == "--file" || first.hasPrefix("--file=") {
      leading.append(arguments.removeFirst())
      if first == "--file", let path = arguments.first {
        leading.append(path)
        arguments.removeFirst()
      }
    }
    guard let name = arguments.first else {
      Console.err(overview)
      return .usage
    }
    switch name {
    case "--help", "-h":
      Console.out(overview)
      return .success
    case "--version":
      Console.out("vault \(version)\n")
      return .success
    case "help":
      return help(Array(arguments.dropFirst()))
    case UnlockAgent.commandName where arguments.count == 2:
      // Hidden: the process `vault unlock` starts when the kernel keyring is refused.
      return ExitCode(rawValue: UnlockAgent.serve(socketPath: arguments[1])) ?? .failure
    default:
      break
    }
    if let group = groups.first(where: { $0.name == name }) {
      let rest = Array(arguments.dropFirst())
      guard let sub = rest.first, !sub.hasPrefix("-") || sub == "--help" || sub == "-h" else {
        Console.err(group.overview())
        return .usage
      }
      if sub == "--help" || sub == "-h" || sub == "help" {
        Console.out(group.overview())
        return .success
      }
      if let unknown = unknownSubcommand(sub, of: group.name, among: group.commands) { return report(unknown) }
      arguments = ["\(name) \(sub)"] + rest.dropFirst()
    }
    guard let command = command(named: arguments[0]) else { return report(unknownCommand(name)) }
    do {
      let parsed = try ParsedArguments.parse(leading + Array(arguments.dropFirst()), spec: command.spec)
      if parsed.flag("help") {
        Console.out(command.spec.help)
        return .success
      }
      // Before anything uses OpenSSL: a command that does no TLS needs neither its error
      // strings nor its legacy digest names, which every command with the passphrase paid for
      // when scrypt's fetch built the name map (8.5 M instructions, bench/README.md, "Tenth round").
      if !command.usesTLS { OpenSSLStartup.lean() }
      try command.run(try Context(environment: environment, arguments: parsed))
      Console.flushWarnings()
      return .success
    } catch let exit as ChildExit {
      throw exit
    } catch let error as UsageError {
      return report(error)
    } catch let error as VaultError {
      if case .rollback = error { Console.dropWarnings() }
      Console.error(error.message, hint: error.hint)
      Console.flushWarnings()
      return ExitCode(error)
    } catch {
      Console.error("unexpected failure: \(error)")
      return .failure
    }
  }

  /// Parses a command line as `run` would, without running anything; for the argument-parser
  /// fuzzer. Usage errors are expected; only a crash would be a bug.
  public static func checkArguments(_ arguments: [String]) {
    var arguments = arguments
    if arguments.count >= 2, groups.contains(where: { $0.name == arguments[0] }) {
      arguments = ["\(arguments[0]) \(arguments[1])"] + arguments.dropFirst(2)
    }
    guard let name = arguments.first, let command = command(named: name) else { return }
    _ = try? ParsedArguments.parse(Array(arguments.dropFirst()), spec: command.spec)
  }

  private static func help(_ topics: [String]) -> ExitCode {
    guard let topic = topics.first else {
      Console.out(overview)
      return .success
    }
    if topics == ["--man"] {
      Console.out(ManPage.text)
      return .success
    }
    if let group = groups.first(where: { $0.name == topic }), topics.count == 1 {
      Console.out(group.overview())
      return .success
    }
    guard let command = command(named: topics.joined(separator: " ")) else {
      return report(UsageError("no help for '\(topics.joined(separator: " "))'", command: nil))
    }
    Console.out(command.spec.help)
    return .success
  }

  /// "unknown subcommand 'craete' for 'vault agent-key'", with the nearest one; nil when known.
  private static func unknownSubcommand(_ sub: String, of group: String, among commands: [any Command.Type])
    -> UsageError?
  {
    let names = commands.map { String($0.spec.name.dropFirst(group.count + 1)) }
    guard !names.contains(sub) else { return nil }
    return UsageError(
      "unknown subcommand '\(sub)' for 'vault \(group)'", command: group, hint: suggestion(sub, among: names))
  }

  /// "unknown command 'lsit'" (or option), with the nearest one.
  private static func unknownCommand(_ name: String) -> UsageError {
    if name.hasPrefix("-") {
      let near = NearestName.nearest(to: String(name.drop { $0 == "-" }), among: ["file", "help", "version"])
      return UsageError("unknown option '\(name)'", command: nil, hint: near.map { "did you mean '--\($0)'?" })
    }
    let known = ["help"] + commands.map { $0.spec.name } + groups.map { $0.name }
    return UsageError("unknown command '\(name)'", command: nil, hint: suggestion(name, among: known))
  }

  private static func suggestion(_ typed: String, among names: [String]) -> String? {
    NearestName.nearest(to: typed, among: names).map { "did you mean '\($0)'?" }
  }

  private static func report(_ error: UsageError) -> ExitCode {
    let help = error.command.map { "see 'vault help \($0)'" } ?? "see 'vault --help'"
    Console.error(error.message, hint: error.hint.map { "\($0) (\(help))" } ?? help)
    return .usage
  }

  static var overview: String {
    var text = """
      OVERVIEW: A local, encrypted vault for the API keys of LLM providers.

      USAGE: vault [--file <path>] <subcommand>

      OPTIONS:

      """
    text += CommandSpec.row(
      "--file <path>", "The vault file (default: $VAULT_FILE, else $XDG_DATA_HOME/llm-vault/vault.json).")
    text += CommandSpec.row("--version", "Show the version.")
    text += CommandSpec.row("-h, --help", "Show help information.")
    text += "\nSUBCOMMANDS:\n"
    for command in commands { text += CommandSpec.row(command.spec.name, command.spec.summary) }
    for group in groups { text += CommandSpec.row(group.name, group.summary) }
    text += "\n  See 'vault help <subcommand>' for detailed help.\n"
    return text
  }
}
