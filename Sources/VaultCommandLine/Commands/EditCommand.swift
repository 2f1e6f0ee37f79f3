import VaultCore

enum EditCommand: Command {
  static let spec = CommandSpec(
    name: "edit",
    summary: "Rename a provider key, replace its value, or change its provider or variables.",
    arguments: [.init(name: "name", help: "The key's name.")],
    options: [
      .init(name: "name", value: "<new-name>", help: "Rename the key."),
      .init(name: "value", help: "Read a new value from standard input (or a no-echo prompt)."),
      .init(name: "provider", value: "<provider>", help: "Link it to this provider ('none' to unlink)."),
      .init(
        name: "env", value: "<variable>", repeatable: true,
        help: "Inject it under these variables instead of the provider's usual ones."),
      .init(name: "clear-env", help: "Go back to the provider's usual variables."),
      .init(name: "default", help: "Make it its provider's default key (the one under the provider's variables)."),
    ],
    discussion: """
      A new value is read like 'vault add' reads one: one trailing newline from standard input is dropped.
      The first key added for a provider is its default: a run without selectors puts the default
      under the provider's variables (OPENAI_API_KEY, ...) and the provider's other keys under their
      own names only. A key moved to another provider with --provider joins it as a non-default key.
        vault edit OPENAI_DEV --default
      """)

  static func run(_ context: Context) throws {
    let arguments = context.arguments
    let name = arguments.positionals[0]
    let newName = arguments.value("name")
    let environmentNames = arguments.values("env")
    guard
      newName != nil || arguments.flag("value") || arguments.value("provider") != nil || !environmentNames.isEmpty
        || arguments.flag("clear-env") || arguments.flag("default")
    else {
      throw VaultError.usage("nothing to change: give --name, --value, --provider, --env, --clear-env or --default")
    }
    if !environmentNames.isEmpty && arguments.flag("clear-env") {
      throw VaultError.usage("--env and --clear-env contradict each other")
    }
    if let newName { try Names.validateKeyName(newName) }
    let provider = try arguments.value("provider").map { $0 == "none" ? nil : try Names.normalizedProvider($0) }
    for variable in environmentNames {
      try PastedSecret.refuse(variable, as: "environment variable")
      try Names.validateEnvironmentName(variable)
    }
    let document = try context.store.read().document
    let current = try document.key(named: name)
    if arguments.flag("default") {
      // Checked on the metadata before a passphrase is asked for.
      var probe = document
      let now = Timestamp.now()
      if let provider { try probe.setProvider(of: name, to: provider, now: now) }
      if !environmentNames.isEmpty || arguments.flag("clear-env") {
        try probe.setEnvironmentNames(of: name, to: environmentNames, now: now)
      }
      try probe.makeDefault(name)
    }
    let value = arguments.flag("value") ? try context.readValue(for: name) : nil
    let previousDefault = try context.store.update(credential: context.credential) { document, keyring -> String? in
      let now = Timestamp.now()
      if let value { try document.setValue(of: name, to: value, keyring: keyring, now: now) }
      if let provider { try document.setProvider(of: name, to: provider, now: now) }
      if !environmentNames.isEmpty || arguments.flag("clear-env") {
        try document.setEnvironmentNames(of: name, to: environmentNames, now: now)
      }
      if let newName { try document.renameKey(name, to: newName, keyring: keyring, now: now) }
      return arguments.flag("default") ? try document.makeDefault(newName ?? name) : nil
    }
    let shown = newName ?? name
    if provider != nil || value != nil {
      let linked = provider ?? current.provider
      for warning in KeyAdvice.warnings(name: shown, provider: linked, value: value)
      where provider != nil || !warning.hasPrefix("provider '") {
        Console.warning(warning)
      }
    }
    if arguments.flag("default"), let provider = provider ?? current.provider {
      let before = previousDefault.map { " (was \($0))" } ?? " (it was already)"
      Console.err("vault: \(shown) is now \(provider)'s default key\(before)\n")
    }
    Console.err("vault: updated \(shown)\n")
  }
}
