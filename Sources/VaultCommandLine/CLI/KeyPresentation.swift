import VaultCore

/// How provider keys look on screen and in `--json`: metadata and the masked value only.
/// `all` is every key of the vault, in file order, which decides each provider's default.
enum KeyPresentation {
  static func table(_ keys: [ProviderKey], all: [ProviderKey], colour: Bool) -> String {
    let header = ["NAME", "VALUE", "PROVIDER", "MODELS", "UPDATED"]
    let defaults = Set(KeySelection.defaults(in: all).values)
    var counts: [String: Int] = [:]
    for key in all { if let provider = key.provider { counts[provider, default: 0] += 1 } }
    let rows = keys.map { key in
      // Marked where it matters: a provider with several keys.
      let marked = defaults.contains(key.id) && counts[key.provider ?? "", default: 0] > 1
      return [
        key.name, key.masked, (key.provider ?? "-") + (marked ? " (default)" : ""),
        key.models.isEmpty ? "-" : key.models.joined(separator: ","), key.updated.day,
      ]
    }
    return Table.render(header: header, rows: rows, colour: colour)
  }

  /// With `usage` (for `show`), also its last use, its unlocks and what the gateway served with it.
  static func json(
    _ key: ProviderKey, all: [ProviderKey], usage: UsageState.Record? = nil, into writer: inout JSONWriter
  ) {
    writer.raw("{\"name\":")
    writer.string(key.name)
    writer.raw(",\"value\":")
    writer.string(key.masked)
    writer.raw(",\"provider\":")
    writer.optionalString(key.provider)
    writer.raw(",\"default\":")
    writer.raw(KeySelection.isDefault(key, in: all) ? "true" : "false")
    writer.raw(",\"models\":")
    writer.stringArray(key.models)
    writer.raw(",\"env\":")
    writer.stringArray(key.environmentNames)
    writer.raw(",\"created\":")
    writer.string(key.created.rfc3339)
    writer.raw(",\"updated\":")
    writer.string(key.updated.rfc3339)
    if let usage {
      writer.raw(",\"lastUsed\":")
      writer.string(usage.lastUsed.rfc3339)
      writer.raw(",\"uses\":")
      writer.integer(usage.uses)
      AgentPresentation.gatewayCountsJSON(usage.gateway, into: &writer)
    }
    writer.raw("}")
  }

  /// A JSON array, one key per line, for scripts (`jq`).
  static func jsonList(_ keys: [ProviderKey], all: [ProviderKey]) -> [UInt8] {
    var writer = JSONWriter(reservingCapacity: keys.count * 200 + 4, escapingUnsafeScalars: true)
    writer.raw("[")
    for (index, key) in keys.enumerated() {
      writer.raw(index == 0 ? "\n" : ",\n")
      json(key, all: all, into: &writer)
    }
    writer.raw(keys.isEmpty ? "]\n" : "\n]\n")
    return writer.bytes
  }

  static func details(_ key: ProviderKey, all: [ProviderKey], usage: UsageState.Record? = nil) -> String {
    var defaultText = "-"
    if let provider = key.provider {
      let current = KeySelection.defaults(in: all)[provider].flatMap { id in all.first { $0.id == id } }
      defaultText =
        !key.environmentNames.isEmpty
        ? "no (it goes in under its own --env names)"
        : current?.id == key.id
          ? "yes, \(provider)'s default key"
          : "no (\(current?.name ?? "?") is; 'vault edit \(key.name) --default' makes it this one)"
    }
    var rows: [(String, String)] = [
      ("Name", key.name),
      ("Value", key.masked),
      ("Provider", key.provider ?? "-"),
      ("Default", defaultText),
      ("Models", key.models.isEmpty ? "-" : key.models.joined(separator: ", ")),
      (
        "Env",
        key.environmentNames.isEmpty ? "(the provider's usual names)" : key.environmentNames.joined(separator: ", ")
      ),
      ("Created", key.created.rfc3339),
      ("Updated", key.updated.rfc3339),
    ]
    rows.append(("Last used", usage.map { "\($0.lastUsed.rfc3339) (\($0.uses) unlocks)" } ?? "never"))
    rows.append(("Gateway", AgentPresentation.gatewaySummary(usage)))
    return rows.map {
      "\($0.0):" + String(repeating: " ", count: 10 - $0.0.count) + DisplaySafety.sanitized($0.1) + "\n"
    }
    .joined()
  }
}

/// Plain-text columns, two spaces apart; a bold header only when colour is allowed. Every cell
/// is sanitised (`DisplaySafety`): a field from the file never prints an escape sequence or a
/// line break.
enum Table {
  static func render(header: [String], rows: [[String]], colour: Bool) -> String {
    let rows = rows.map { $0.map(DisplaySafety.sanitized) }
    var widths = header.map(width)
    for row in rows {
      for (column, cell) in row.enumerated() { widths[column] = max(widths[column], width(cell)) }
    }
    // Built as bytes: `list` of 10,000 keys spent most of its table in String appends.
    var text: [UInt8] = []
    func line(_ cells: [String]) {
      for (column, cell) in cells.enumerated() {
        text += cell.utf8
        if column < cells.count - 1 {
          text.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[column] - width(cell) + 2))
        }
      }
      text.append(UInt8(ascii: "\n"))
    }
    if colour { text += "\u{1B}[1m".utf8 }
    line(header)
    if colour {
      text.removeLast()
      text += "\u{1B}[0m\n".utf8
    }
    for row in rows { line(row) }
    return String(decoding: text, as: UTF8.self)
  }

  /// Columns a cell takes: its characters, counted fast when it is ASCII (almost always).
  private static func width(_ cell: String) -> Int {
    cell.utf8.allSatisfy { $0 < 0x80 } ? cell.utf8.count : cell.count
  }
}
