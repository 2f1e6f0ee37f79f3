import VaultCore

/// What a command accepts, used both to parse its arguments and to print its help, so the two
/// can never disagree.
struct CommandSpec {
  struct Option {
    /// The long name without dashes, e.g. `provider`.
    var name: String
    var short: Character? = nil
    /// The value's placeholder (`<provider>`), or nil for a flag.
    var value: String? = nil
    var repeatable = false
    var help: String
  }

  struct Argument {
    var name: String
    var help: String
    var optional = false
    /// Takes every remaining argument (only the last one may).
    var variadic = false
  }

  var name: String
  var summary: String
  var arguments: [Argument] = []
  var options: [Option] = []
  /// Extra paragraphs printed after OPTIONS.
  var discussion: String? = nil

  /// Options every command takes.
  static let commonOptions: [Option] = [
    Option(
      name: "file", value: "<path>",
      help: "The vault file (default: $VAULT_FILE, else $XDG_DATA_HOME/llm-vault/vault.json)."),
    Option(
      name: "identity", value: "<path>",
      help:
        "An age identity file for a team vault (default: $VAULT_IDENTITY, then ~/.config/llm-vault/identity)."),
    Option(name: "help", short: "h", help: "Show help information."),
  ]

  var allOptions: [Option] { options + Self.commonOptions }

  func option(named name: String) -> Option? {
    allOptions.first { $0.name == name }
  }

  func option(short: Character) -> Option? {
    allOptions.first { $0.short == short }
  }

  var usageLine: String {
    var parts = ["vault", name]
    for argument in arguments {
      let spelled = "<\(argument.name)>" + (argument.variadic ? " ..." : "")
      parts.append(argument.optional ? "[\(spelled)]" : spelled)
    }
    for option in options {
      let spelled = "--\(option.name)" + (option.value.map { " \($0)" } ?? "")
      parts.append("[\(spelled)\(option.repeatable ? " ..." : "")]")
    }
    return parts.joined(separator: " ")
  }

  var help: String {
    var text = "OVERVIEW: \(summary)\n\nUSAGE: \(usageLine)\n"
    if !arguments.isEmpty {
      text += "\nARGUMENTS:\n"
      for argument in arguments { text += Self.row("<\(argument.name)>", argument.help) }
    }
    text += "\nOPTIONS:\n"
    for option in allOptions {
      var spelled = option.short.map { "-\($0), " } ?? ""
      spelled += "--\(option.name)" + (option.value.map { " \($0)" } ?? "")
      text += Self.row(spelled, option.help + (option.repeatable ? " Repeatable." : ""))
    }
    if let discussion { text += "\n\(discussion)\n" }
    return text
  }

  /// The overview of a command group (`vault agent-key`, `vault member`): what it is for, its
  /// usage and one row per subcommand, from the subcommands' own specs.
  static func groupOverview(_ group: String, _ overview: String, _ subcommands: [any Command.Type]) -> String {
    var text = "OVERVIEW: \(overview)\n\nUSAGE: vault \(group) <subcommand>\n\nSUBCOMMANDS:\n"
    for command in subcommands {
      text += row(String(command.spec.name.dropFirst(group.count + 1)), command.spec.summary)
    }
    return text + "\n  See 'vault help \(group) <subcommand>' for detailed help.\n"
  }

  static func row(_ label: String, _ help: String) -> String {
    let padded = label.count < 26 ? label + String(repeating: " ", count: 26 - label.count) : label + "  "
    return "  \(padded)\(help)\n"
  }
}

/// A command line split into positionals and options, checked against a `CommandSpec`.
struct ParsedArguments {
  var positionals: [String] = []
  private var values: [String: [String]] = [:]
  private var flags: Set<String> = []

  func flag(_ name: String) -> Bool { flags.contains(name) }
  func value(_ name: String) -> String? { values[name]?.last }
  func values(_ name: String) -> [String] { values[name] ?? [] }

  /// Parses `arguments` (everything after the command name). `--` ends the options.
  static func parse(_ arguments: [String], spec: CommandSpec) throws(UsageError) -> ParsedArguments {
    var parsed = ParsedArguments()
    var index = 0
    var optionsEnded = false
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
        parsed.positionals.append(argument)
        continue
      }
      if argument == "--" {
        optionsEnded = true
        continue
      }
      let option: CommandSpec.Option
      var inlineValue: String? = nil
      if argument.hasPrefix("--") {
        var name = String(argument.dropFirst(2))
        if let equals = name.firstIndex(of: "=") {
          inlineValue = String(name[name.index(after: equals)...])
          name = String(name[..<equals])
        }
        guard let found = spec.option(named: name) else {
          throw UsageError(
            "unknown option '--\(name)' for 'vault \(spec.name)'", command: spec.name,
            hint: unknownOptionHint(name, spec: spec, after: parsed.positionals))
        }
        option = found
      } else {
        let letters = Array(argument.dropFirst())
        guard letters.count == 1, let found = spec.option(short: letters[0]) else {
          throw UsageError(
            "unknown option '\(argument)' for 'vault \(spec.name)'", command: spec.name,
            hint: unknownOptionHint(nil, spec: spec, after: parsed.positionals))
        }
        option = found
      }
      if option.value == nil {
        guard inlineValue == nil else {
          throw UsageError("option '--\(option.name)' takes no value", command: spec.name)
        }
        parsed.flags.insert(option.name)
        continue
      }
      let value: String
      if let inlineValue {
        value = inlineValue
      } else {
        guard index < arguments.count else {
          throw UsageError("option '--\(option.name)' needs a value \(option.value!)", command: spec.name)
        }
        value = arguments[index]
        index += 1
      }
      if !option.repeatable, parsed.values[option.name] != nil {
        throw UsageError("option '--\(option.name)' is given twice", command: spec.name)
      }
      parsed.values[option.name, default: []].append(value)
    }
    if parsed.flag("help") { return parsed }
    let required = spec.arguments.filter { !$0.optional }.count
    if parsed.positionals.count < required {
      let missing = spec.arguments[parsed.positionals.count]
      throw UsageError("missing argument <\(missing.name)>", command: spec.name)
    }
    if parsed.positionals.count > spec.arguments.count, spec.arguments.last?.variadic != true {
      // Not echoed: a stray argument may be a pasted secret, and argv is already too public.
      let takes = spec.arguments.isEmpty ? "no arguments" : spec.arguments.map { "<\($0.name)>" }.joined(separator: " ")
      throw UsageError("too many arguments: 'vault \(spec.name)' takes \(takes)", command: spec.name)
    }
    return parsed
  }

  /// What to say about an unknown option: after a program's name (`vault run --key A ls -la`),
  /// that the program goes after `--`; else the nearest option, if one is near.
  private static func unknownOptionHint(_ name: String?, spec: CommandSpec, after positionals: [String]) -> String? {
    if !positionals.isEmpty, spec.arguments.last?.variadic == true {
      return "put the program and its arguments after '--': vault \(spec.name) [options] -- <command> ..."
    }
    guard let name, let near = NearestName.nearest(to: name, among: spec.allOptions.map(\.name)) else { return nil }
    return "did you mean '--\(near)'?"
  }
}

/// A command-line mistake: printed with a pointer to the command's help, exit 64.
struct UsageError: Error {
  var message: String
  var command: String?
  /// Said before the pointer to the help ("did you mean 'create'?").
  var hint: String?

  init(_ message: String, command: String?, hint: String? = nil) {
    self.message = message
    self.command = command
    self.hint = hint
  }
}
