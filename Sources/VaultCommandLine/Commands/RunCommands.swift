import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// Thrown to end `vault` with a supervised child's exit status.
struct ChildExit: Error {
  var code: Int32
}

enum RunCommand: Command {
  static let spec = CommandSpec(
    name: "run",
    summary: "Run a program with provider keys in its environment, under the names its SDK expects.",
    arguments: [
      .init(name: "command", help: "The program and its arguments, after --.", optional: true, variadic: true)
    ],
    options: SecretsForRun.options + [
      .init(name: "dry-run", help: "Print which variables would be set, from which key and why; run nothing."),
      .init(name: "mask", help: "Supervise the program and mask every injected value in its output."),
      .init(name: "clean-env", help: "Start from PATH, HOME, USER, LANG, TERM and TZ only."),
      .init(name: "no-override", help: "Keep a variable the environment already has instead of the vault's value."),
    ] + GatewaySession.options,
    discussion: """
      With VAULT_AGENT_KEY (or --agent-key-file) the agent key alone unlocks its scope; otherwise
      the passphrase unlocks every key. Each key is set under its own name and its provider's
      variables (OPENAI_API_KEY, ...), or under its own --env names. VAULT_AGENT_KEY,
      VAULT_PASSPHRASE and VAULT_PASSPHRASE_FILE never reach the program. Without --mask, vault
      replaces itself with the program: its exit status, signals and terminal are the program's.
      Exit status: the program's; 127 when it is not found, 126 when it cannot be executed.
        vault run -- python agent.py
        VAULT_AGENT_KEY=vk_... vault run --model gpt-4o -- ./eval.sh
      """)

  static func run(_ context: Context) throws {
    let arguments = context.arguments
    let command = arguments.positionals
    let dryRun = arguments.flag("dry-run")
    guard !command.isEmpty || dryRun else { throw VaultError.usage("missing the command to run, after --") }
    if GatewaySession.wanted(arguments) {
      guard !dryRun, !arguments.flag("mask") else {
        throw VaultError.usage("--gateway goes without --dry-run and --mask")
      }
      try GatewaySession.run(context, command: command)
    }
    let secrets = try SecretsForRun.load(context, selectors: try SecretsForRun.selectors(context), decrypt: !dryRun)
    if dryRun {
      // A dry run reads the vault (it opens nothing, so the run cache is not asked): it has a plan.
      if let plan = secrets.plan { printPlan(plan, context: context) }
      return
    }
    let options = ChildEnvironment.Options(
      clean: arguments.flag("clean-env"), keepInherited: arguments.flag("no-override"))
    let (environment, kept) = ChildEnvironment.build(
      inherited: context.environment, injection: secrets.injection, options: options)
    let childPath = options.clean || context.environment["PATH"] != nil ? context.environment["PATH"] : nil
    let executable = try ChildProcess.resolve(command[0], path: childPath)
    for variable in kept { Console.err("vault: kept the inherited \(variable) (--no-override)\n") }
    secrets.recordUse(context)
    Console.flushWarnings()
    if arguments.flag("mask") {
      // The matcher refers to the values where they are (locked memory); it copies none. A value
      // too short to be a secret is not masked: every "true" in the output would be.
      var masks: [(value: SecretBytes, mask: [UInt8])] = []
      for key in secrets.injection.keys {
        guard let value = key.value else { continue }
        guard KeyAdvice.isMaskable(value) else {
          Console.warning(
            "not masking \(key.name): its value has fewer than \(KeyAdvice.minimumMaskedLength) characters, too short to be a secret"
          )
          continue
        }
        masks.append((value: value, mask: Array(key.masked.utf8)))
      }
      throw ChildExit(
        code: try ChildProcess.supervise(executable, arguments: command, environment: environment, secrets: masks))
    }
    // Kept alive until the exec replaces the process: otherwise ARC frees them after their last
    // use above, wiping and freeing a thousand values and keys one by one, work the exec makes
    // moot (a new image has none of this memory). A failed exec frees them as usual.
    throw withExtendedLifetime(secrets) {
      ChildProcess.exec(executable, arguments: command, environment: environment)
    }
  }

  private static func printPlan(_ plan: InjectionPlan, context: Context) {
    guard !plan.entries.isEmpty else {
      Console.err("vault: no provider keys selected; nothing would be set\n")
      return
    }
    let rows = plan.entries.map { [$0.variable, $0.key.name, $0.key.masked, $0.reason] }
    Console.out(Table.render(header: ["VARIABLE", "KEY", "VALUE", "WHY"], rows: rows, colour: context.useColour))
  }
}

enum EnvCommand: Command {
  static let spec = CommandSpec(
    name: "env",
    summary: "Print the variables 'vault run' would set, as dotenv, shell or JSON.",
    options: SecretsForRun.options + [
      .init(name: "format", value: "<format>", help: "dotenv (default), shell (quoted for eval) or json."),
      .init(
        name: "out", short: "o", value: "<file>",
        help: "Write here (mode 0600, replaced atomically); default: standard output."),
      .init(name: "reveal", help: "Print the values even when standard output is a terminal."),
    ] + GatewaySession.options,
    discussion: """
      With --gateway it prints the gateway's base URLs and a session token that lasts until the
      agent key expires or is revoked, or the gateway restarts; never a provider key.
      The values are secrets: vault env refuses to print them to a terminal without --reveal.
        vault env -o .env.local
        vault env --format dotenv > .env.local
        eval "$(vault env --format shell)"
      """)

  static func run(_ context: Context) throws {
    let formatName = context.arguments.value("format") ?? "dotenv"
    guard let format = EnvironmentFormat(rawValue: formatName) else {
      throw VaultError.invalidInput("unknown format '\(formatName)': use dotenv, shell or json")
    }
    let output = context.arguments.value("out")
    if let output {
      // Before any passphrase is asked for; again just before the write.
      try OutputFile.check(output, besides: context.store)
    } else {
      try refuseTerminal(context)
    }
    if GatewaySession.wanted(context.arguments) {
      let (_, variables) = try GatewaySession.open(context, detached: true)
      var text = try format.render(variables.map { (name: $0.0, value: $0.1.copyBytes()) })
      defer { for index in text.indices { text[index] = 0 } }
      try emit(text, to: output, context: context, count: variables.count)
      return
    }
    let secrets = try SecretsForRun.load(context, selectors: try SecretsForRun.selectors(context), decrypt: true)
    let injection = secrets.injection
    let variables = injection.variables.compactMap { variable in
      injection.value(of: variable).map { (name: variable.name, value: $0.copyBytes()) }
    }
    var text = try format.render(variables)
    defer { for index in text.indices { text[index] = 0 } }
    try emit(text, to: output, context: context, count: variables.count)
    secrets.recordUse(context)
  }

  /// To standard output, or to `output` as `vault inject -o` writes: mode 0600, atomically.
  private static func emit(_ text: [UInt8], to output: String?, context: Context, count: Int) throws {
    guard let output else {
      text.withUnsafeBytes { Console.outRaw($0) }
      return
    }
    try OutputFile.check(output, besides: context.store)
    try VaultFile.replace(output, with: text)
    Console.err("vault: wrote \(output) (\(count) variable\(count == 1 ? "" : "s"), mode 0600)\n")
  }
}

enum InjectCommand: Command {
  static let spec = CommandSpec(
    name: "inject",
    summary: "Fill {{ vault://NAME }} references in a template with provider key values.",
    options: [
      .init(name: "in", short: "i", value: "<template>", help: "The template file ('-' for standard input)."),
      .init(
        name: "out", short: "o", value: "<file>",
        help: "Write here (mode 0600, replaced atomically); default: standard output."),
      .init(
        name: "agent-key-file", value: "<file>",
        help: "Unlock with the agent key in this file instead of the passphrase."),
      .init(name: "reveal", help: "Print to standard output even when it is a terminal."),
    ],
    discussion: """
      An unknown or out-of-scope reference is an error, and then no output file is written.
        vault inject -i litellm.template.yaml -o litellm.yaml
      """)

  static func run(_ context: Context) throws {
    guard let input = context.arguments.value("in") else { throw VaultError.usage("missing -i <template>") }
    let output = context.arguments.value("out")
    if let output {
      // Before any passphrase is asked for; again just before the write.
      try OutputFile.check(output, besides: context.store)
    } else {
      try refuseTerminal(context)
    }
    var templateBytes = try readTemplate(input)
    defer { for index in templateBytes.indices { templateBytes[index] = 0 } }
    let template = try Template(templateBytes)
    // No reference, no secret: nothing to unlock (an empty selector would mean every key).
    let secrets =
      template.references.isEmpty
      ? nil
      : try SecretsForRun.load(
        context, selectors: KeySelectors(keys: template.references), decrypt: true, ownNamesOnly: true)
    var values: [String: SecretBytes] = [:]
    for key in secrets?.injection.keys ?? [] { values[key.name] = key.value }
    var rendered = template.render(values)
    defer { for index in rendered.indices { rendered[index] = 0 } }
    if let output {
      try OutputFile.check(output, besides: context.store)
      try VaultFile.replace(output, with: rendered)
      Console.err(
        "vault: wrote \(output) (\(template.references.count) reference\(template.references.count == 1 ? "" : "s"))\n")
    } else {
      rendered.withUnsafeBytes { Console.outRaw($0) }
    }
    secrets?.recordUse(context)
  }

  private static func readTemplate(_ path: String) throws -> [UInt8] {
    if path == "-" {
      return try readStandardInput(limit: 16 << 20, tooLong: .invalidInput("the template is larger than 16 MiB"))
    }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else {
      throw VaultError.invalidInput("cannot read the template \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count >= 0 else { throw VaultError.io("cannot read the template \(path)") }
      if count == 0 { return bytes }
      bytes += chunk[0..<count]
      guard bytes.count <= 16 << 20 else { throw VaultError.invalidInput("the template is larger than 16 MiB") }
    }
  }
}

/// Values must not land on a screen (or in a terminal's scrollback) by accident.
private func refuseTerminal(_ context: Context) throws {
  if Console.stdoutIsTerminal && !context.arguments.flag("reveal") {
    throw VaultError.usage("refusing to print secret values to a terminal; redirect the output or pass --reveal")
  }
}
