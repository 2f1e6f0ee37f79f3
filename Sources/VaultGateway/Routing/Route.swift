/// What a request path names: `/<provider>/<rest>` (that provider's API base plus `rest`), or
/// `/v1/<rest>` (the OpenAI-compatible route whose provider follows from the request's model).
enum Route: Equatable, Sendable {
  case provider(id: String, rest: String)
  case compatible(rest: String)

  /// Parses the path part of an origin-form target. Dot segments and empty segments are
  /// refused: the upstream host is fixed, but a path should mean one thing to every reader.
  static func parse(_ path: String) throws(GatewayError) -> Route {
    guard path.hasPrefix("/") else { throw GatewayError(kind: .badRequest, message: "the path must start with /") }
    let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    guard let first = segments.first, !first.isEmpty else {
      throw GatewayError(
        kind: .notFound, message: "no route: use /<provider>/... (e.g. /openai/chat/completions) or /v1/...")
    }
    for segment in segments.dropFirst().dropLast() where segment.isEmpty {
      throw GatewayError(kind: .badRequest, message: "the path has an empty segment")
    }
    for segment in segments {
      let lowered = segment.lowercased()
      if lowered == "." || lowered.hasPrefix("..") || lowered.contains("%2e") || lowered.contains("%2f") {
        throw GatewayError(kind: .badRequest, message: "the path has a dot or encoded slash segment")
      }
    }
    let rest = String(path.dropFirst(1 + first.count))
    if first == "v1" { return .compatible(rest: rest) }
    return .provider(id: String(first), rest: rest)
  }
}
