import VaultCore

private let jsonOption = CommandSpec.Option(name: "json", help: "Print JSON for scripts.")

enum ListCommand: Command {
  static let spec = CommandSpec(
    name: "list", summary: "List provider keys, values masked. No passphrase needed.", options: [jsonOption])

  static func run(_ context: Context) throws {
    let keys = try context.store.read().document.keys
    try printKeys(keys, all: keys, context: context)
  }
}

enum SearchCommand: Command {
  static let spec = CommandSpec(
    name: "search",
    summary: "Find provider keys by name, provider or model (case-insensitive). No passphrase needed.",
    arguments: [.init(name: "term", help: "Text to look for.")],
    options: [jsonOption])

  static func run(_ context: Context) throws {
    let term = context.arguments.positionals[0]
    let all = try context.store.read().document.keys
    try printKeys(all.filter { $0.matches(search: term) }, all: all, context: context, term: term)
  }
}

enum ShowCommand: Command {
  static let spec = CommandSpec(
    name: "show", summary: "Show one provider key's details, value masked. No passphrase needed.",
    arguments: [.init(name: "name", help: "The key's name.")], options: [jsonOption])

  static func run(_ context: Context) throws {
    let document = try context.store.read().document
    let key = try document.key(named: context.arguments.positionals[0])
    let usage = context.store.usage().keys[key.id.description]
    if context.arguments.flag("json") {
      var writer = JSONWriter(escapingUnsafeScalars: true)
      KeyPresentation.json(key, all: document.keys, usage: usage, into: &writer)
      writer.raw("\n")
      Console.outBytes(writer.bytes)
    } else {
      Console.out(KeyPresentation.details(key, all: document.keys, usage: usage))
    }
  }
}

private func printKeys(_ keys: [ProviderKey], all: [ProviderKey], context: Context, term: String? = nil) throws {
  if context.arguments.flag("json") {
    Console.outBytes(KeyPresentation.jsonList(keys, all: all))
  } else if keys.isEmpty, let term {
    // Not echoed when it looks like a secret pasted in the wrong place.
    let shown = PastedSecret.looksLikeSecret(term) ? "the search term" : "'\(DisplaySafety.sanitized(term))'"
    Console.err("vault: no provider key matched \(shown)\n")
  } else if keys.isEmpty {
    Console.err("vault: no provider keys\n")
  } else {
    Console.out(KeyPresentation.table(keys, all: all, colour: context.useColour))
  }
}
