import VaultCore

enum CompletionCommand: Command {
  static let spec = CommandSpec(
    name: "completion",
    summary: "Print a completion script for bash, zsh or fish.",
    arguments: [.init(name: "shell", help: "bash, zsh or fish.", optional: true)],
    options: [
      .init(
        name: "list", value: "<what>",
        help: "Print the names of 'keys' or 'agent-keys', one a line (what the scripts call). No passphrase needed.")
    ],
    discussion: """
      The scripts are generated from the same command specs as --help, and complete commands,
      options, and the names of provider keys and agent keys (read without a passphrase).
        vault completion bash > ~/.local/share/bash-completion/completions/vault
        vault completion zsh > "${fpath[1]}/_vault"
        vault completion fish > ~/.config/fish/completions/vault.fish
      """)

  static func run(_ context: Context) throws {
    if let what = context.arguments.value("list") {
      let document = try context.store.read().document
      switch what {
      case "keys": for key in document.keys { Console.out(DisplaySafety.sanitized(key.name) + "\n") }
      case "agent-keys": for agent in document.agents { Console.out(DisplaySafety.sanitized(agent.name) + "\n") }
      default: throw VaultError.invalidInput("unknown list '\(what)': use keys or agent-keys")
      }
      return
    }
    guard let shell = context.arguments.positionals.first else {
      throw VaultError.usage("missing argument <shell>: bash, zsh or fish")
    }
    switch shell {
    case "bash": Console.out(Completion.bash)
    case "zsh": Console.out(Completion.zsh)
    case "fish": Console.out(Completion.fish)
    default:
      let near =
        NearestName.nearest(to: shell, among: ["bash", "zsh", "fish"]).map { " (did you mean '\($0)'?)" } ?? ""
      throw VaultError.invalidInput("unknown shell '\(shell)'\(near): use bash, zsh or fish")
    }
  }
}
