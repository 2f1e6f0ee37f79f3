import VaultCore

/// A refusal the gateway answers itself, in the shape the provider's SDK parses, so the agent's
/// own error handling shows the reason. The message never holds a token or a key.
struct GatewayError: Error, Sendable {
  enum Kind: Sendable {
    case badRequest, unauthorized, forbidden, notFound, tooManyRequests, badGateway, gatewayTimeout, internalError,
      unavailable

    var status: Int {
      switch self {
      case .badRequest: return 400
      case .unauthorized: return 401
      case .forbidden: return 403
      case .notFound: return 404
      case .tooManyRequests: return 429
      case .internalError: return 500
      case .badGateway: return 502
      case .unavailable: return 503
      case .gatewayTimeout: return 504
      }
    }
  }

  var kind: Kind
  var message: String
  /// Seconds, for 429.
  var retryAfter: Int? = nil
  /// A status the kind does not name (413, 417, 431, 501, 505 from the HTTP parser).
  var exactStatus: Int? = nil

  var status: Int { exactStatus ?? kind.status }

  /// The answer to a request the HTTP parser refused.
  init(_ error: HTTPParseError, what: String) {
    self.init(kind: .badRequest, message: "malformed \(what): \(error.reason)")
    exactStatus = error.status
  }

  static func unauthorized(_ message: String) -> GatewayError { GatewayError(kind: .unauthorized, message: message) }
  static func forbidden(_ message: String) -> GatewayError { GatewayError(kind: .forbidden, message: message) }

  /// The gateway's answer to a VaultError met while authenticating or choosing a key.
  init(_ error: VaultError) {
    switch error {
    case .accessNotPermitted: self.init(kind: .unauthorized, message: error.message)
    case .permissionDenied: self.init(kind: .forbidden, message: error.message)
    case .keyNotFound: self.init(kind: .forbidden, message: "permission denied: \(error.message)")
    case .vaultNotFound: self.init(kind: .unavailable, message: "the vault file is missing")
    default: self.init(kind: .internalError, message: "the vault cannot be read: \(error.message)")
    }
  }

  init(kind: Kind, message: String, retryAfter: Int? = nil) {
    self.kind = kind
    self.message = message
    self.retryAfter = retryAfter
  }

  /// The JSON body in `shape`.
  func body(_ shape: GatewayProvider.ErrorShape) -> [UInt8] {
    var writer = JSONWriter()
    switch shape {
    case .openAI:
      writer.raw("{\"error\":{\"message\":")
      writer.string(message)
      writer.raw(",\"type\":")
      writer.string(openAIType)
      writer.raw(",\"code\":")
      writer.string(code)
      writer.raw("}}")
    case .anthropic:
      writer.raw("{\"type\":\"error\",\"error\":{\"type\":")
      writer.string(anthropicType)
      writer.raw(",\"message\":")
      writer.string(message)
      writer.raw("}}")
    case .google:
      writer.raw("{\"error\":{\"code\":")
      writer.integer(Int64(status))
      writer.raw(",\"message\":")
      writer.string(message)
      writer.raw(",\"status\":")
      writer.string(googleStatus)
      writer.raw("}}")
    }
    writer.raw("\n")
    return writer.bytes
  }

  private var code: String {
    switch kind {
    case .badRequest: return "invalid_request"
    case .unauthorized: return "access_not_permitted"
    case .forbidden: return "permission_denied"
    case .notFound: return "not_found"
    case .tooManyRequests: return "rate_limit_exceeded"
    case .badGateway, .gatewayTimeout, .unavailable: return "upstream_unavailable"
    case .internalError: return "gateway_error"
    }
  }

  private var openAIType: String {
    switch kind {
    case .badRequest, .notFound: return "invalid_request_error"
    case .unauthorized: return "authentication_error"
    case .forbidden: return "permission_error"
    case .tooManyRequests: return "rate_limit_error"
    default: return "api_error"
    }
  }

  private var anthropicType: String {
    switch kind {
    case .badRequest: return "invalid_request_error"
    case .unauthorized: return "authentication_error"
    case .forbidden: return "permission_error"
    case .notFound: return "not_found_error"
    case .tooManyRequests: return "rate_limit_error"
    case .unavailable, .badGateway, .gatewayTimeout: return "overloaded_error"
    case .internalError: return "api_error"
    }
  }

  private var googleStatus: String {
    switch kind {
    case .badRequest: return "INVALID_ARGUMENT"
    case .unauthorized: return "UNAUTHENTICATED"
    case .forbidden: return "PERMISSION_DENIED"
    case .notFound: return "NOT_FOUND"
    case .tooManyRequests: return "RESOURCE_EXHAUSTED"
    case .unavailable, .badGateway, .gatewayTimeout: return "UNAVAILABLE"
    case .internalError: return "INTERNAL"
    }
  }
}
