import VaultCore

private let linkOptions: [CommandSpec.Option] = [
  .init(name: "model", value: "<model>", repeatable: true, help: "A model, e.g. gpt-4o."),
  .init(name: "env", value: "<variable>", repeatable: true, help: "A variable to inject the key under."),
]

enum LinkCommand: Command {
  static let spec = CommandSpec(
    name: "link", summary: "Link models or variables to a provider key.",
    arguments: [.init(name: "name", help: "The key's name.")], options: linkOptions)

  static func run(_ context: Context) throws {
    try change(context, verb: "linked") { document, name, models, variables in
      try document.link(name, models: models, environmentNames: variables, now: .now())
    }
  }
}

enum UnlinkCommand: Command {
  static let spec = CommandSpec(
    name: "unlink", summary: "Unlink models or variables from a provider key.",
    arguments: [.init(name: "name", help: "The key's name.")], options: linkOptions)

  static func run(_ context: Context) throws {
    try change(context, verb: "unlinked") { document, name, models, variables in
      try document.unlink(name, models: models, environmentNames: variables, now: .now())
    }
  }
}

private func change(
  _ context: Context, verb: String, _ body: (inout VaultDocument, String, [String], [String]) throws -> Void
) throws {
  let name = context.arguments.positionals[0]
  let models = context.arguments.values("model")
  let variables = context.arguments.values("env")
  guard !models.isEmpty || !variables.isEmpty else { throw VaultError.usage("give at least one --model or --env") }
  for model in models { try Names.validateModel(model) }
  for variable in variables {
    try PastedSecret.refuse(variable, as: "environment variable")
    try Names.validateEnvironmentName(variable)
  }
  _ = try context.store.read().document.key(named: name)
  try context.store.update(credential: context.credential) { document, _ in
    try body(&document, name, models, variables)
  }
  Console.err(
    "vault: \(verb) \((models + variables).joined(separator: ", ")) \(verb == "linked" ? "to" : "from") \(name)\n")
}
