import VaultCore

/// A request routed by its head; nothing about it is trusted yet. Its body is read only once
/// its token opened an agent key (`receive(body:)`): a client with no valid key costs a head.
struct ParsedRequest {
  var head: HTTPRequestHead
  var body: [UInt8] = []
  var route: Route
  /// The models the path and the body name, the path's first; the first chooses the key.
  var models: [String] = []
  var model: String? { models.first }
  /// The shape errors take before the provider is known for sure.
  var errorShape: GatewayProvider.ErrorShape

  init(head: HTTPRequestHead) throws(GatewayError) {
    self.head = head
    route = try Route.parse(head.path)
    switch route {
    case .provider(let id, _): errorShape = GatewayProviders.provider(id: id).errors
    case .compatible: errorShape = .openAI
    }
    models = RequestModel.model(inPath: head.path).map { [$0] } ?? []
  }

  /// Takes the body and the models it names. A JSON body that names `model` twice, or that
  /// the gateway cannot read whole, is refused: the provider might read another model than
  /// the one the key was chosen for.
  mutating func receive(body: [UInt8]) throws(GatewayError) {
    self.body = body
    guard let found = RequestModel.find(body: body, path: head.path) else {
      throw GatewayError(
        kind: .badRequest,
        message: "the request names its model ambiguously (twice, or in a JSON body that does not parse)")
    }
    models = found
  }
}

/// A request whose token opened an agent key's slot: the agent is known and live.
struct AuthenticatedRequest {
  var parsed: ParsedRequest
  var agent: OpenedAgent
}

/// A request the agent key may make: in scope, within limits, with the provider key and the
/// upstream chosen. Only this type reaches the forwarder.
struct AuthorizedRequest {
  var authenticated: AuthenticatedRequest
  var provider: GatewayProvider
  var key: ProviderKey
  var endpoint: EndpointURL
  /// The upstream's request target: its base path, the rest of the route, the query without `key=`.
  var upstreamTarget: String
}

extension AuthenticatedRequest {
  /// Chooses the provider and the key (the same rules as `vault run --model`), checks the scope,
  /// and finds the upstream. Refusals: 403 outside the scope, 404 for a provider with no API
  /// base, 400 when the `/v1` route has no model to route by.
  func authorize() throws(GatewayError) -> AuthorizedRequest {
    let providerID: String
    let rest: String
    var compatible = false
    switch parsed.route {
    case .provider(let id, let path):
      providerID = id
      rest = path
    case .compatible(let path):
      guard let model = parsed.model else {
        throw GatewayError(kind: .badRequest, message: "the /v1 route needs a \"model\" in the request body")
      }
      providerID = try providerForModel(model)
      rest = path
      compatible = true
    }
    let provider = GatewayProviders.provider(id: providerID)
    // An unknown provider is 404 whatever the scope: there is nothing to deny.
    guard let base = agent.endpoint(for: providerID) ?? provider.defaultBaseURL, let endpoint = EndpointURL(base) else {
      throw GatewayError(
        kind: .notFound,
        message: "unknown provider \(providerID): it has no API base (the owner can set one with "
          + "vault config set provider.\(providerID).base-url URL)")
    }
    let key = try chooseKey(provider: providerID)
    let compatiblePath = compatible && agent.endpoint(for: providerID) == nil ? provider.compatiblePath : ""
    var target = endpoint.basePath + compatiblePath + rest
    if target.isEmpty { target = "/" }
    if let query = PresentedCredential.strippingKey(from: parsed.head.query) { target += "?" + query }
    return AuthorizedRequest(
      authenticated: self, provider: provider, key: key, endpoint: endpoint, upstreamTarget: target)
  }

  /// The provider of the key `model` selects, among every key (a model linked to a key outside
  /// the scope is "permission denied", never another key).
  private func providerForModel(_ model: String) throws(GatewayError) -> String {
    do {
      return try agent.access.provider(forModel: model, allKeys: try agent.allKeys())
    } catch {
      throw GatewayError(error as? VaultError ?? .io("read"))
    }
  }

  /// The key for `provider`, by VaultCore's rule (AgentAccess.key), for the first model the
  /// request names; every other model it names must be one the agent key may use too.
  private func chooseKey(provider: String) throws(GatewayError) -> ProviderKey {
    do {
      let key = try agent.access.key(forProvider: provider, model: parsed.model, allKeys: agent.allKeys)
      for other in parsed.models.dropFirst() {
        _ = try agent.access.key(forProvider: provider, model: other, allKeys: agent.allKeys)
      }
      return key
    } catch {
      throw GatewayError(error as? VaultError ?? .io("read"))
    }
  }
}
