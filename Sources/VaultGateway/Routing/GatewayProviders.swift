/// Where each provider's API lives, how it takes its key, and how its SDK parses an error
/// (docs/GATEWAY.md keeps the table for people). `http://127.0.0.1:8642/<id>` stands for
/// `defaultBaseURL`, unless the owner set another with `vault config set provider.<id>.base-url`.
public struct GatewayProvider: Sendable {
  public enum AuthStyle: Sendable {
    /// `Authorization: Bearer KEY`
    case bearer
    /// `x-api-key: KEY` (Anthropic)
    case xAPIKey
    /// `x-goog-api-key: KEY` (Google)
    case googAPIKey
    /// `api-key: KEY` (Azure OpenAI)
    case azureAPIKey
  }

  public enum ErrorShape: Sendable {
    /// `{"error":{"message","type","code"}}`
    case openAI
    /// `{"type":"error","error":{"type","message"}}`
    case anthropic
    /// `{"error":{"code","message","status"}}`
    case google
  }

  public var id: String
  /// nil where only the owner can say (Azure's per-resource host, a local server).
  public var defaultBaseURL: String?
  public var auth: AuthStyle
  public var errors: ErrorShape
  /// A variable `vault run --gateway` points at the gateway, and what its client expects after
  /// the provider's route (LiteLLM's `GEMINI_API_BASE` wants `/v1beta` included).
  public struct BaseURLVariable: Sendable {
    public var name: String
    public var suffix: String
    public init(_ name: String, suffix: String = "") {
      self.name = name
      self.suffix = suffix
    }
  }

  /// The variables `vault run --gateway` points at the gateway: the SDK's and LiteLLM's.
  public var baseURLVariables: [BaseURLVariable]
  /// Where its OpenAI-compatible API lives below the base, for the `/v1/...` route.
  public var compatiblePath: String = ""
}

public enum GatewayProviders {
  /// The SDKs' and LiteLLM's variables as their source reads them (docs/GATEWAY.md names the
  /// files); a variable whose client appends a different path than the route expects is left out
  /// (Fireworks' SDK drops `/inference` once its base is overridden).
  public static let all: [GatewayProvider] = [
    .init(
      id: "openai", defaultBaseURL: "https://api.openai.com/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("OPENAI_BASE_URL"), .init("OPENAI_API_BASE")]),
    .init(
      id: "anthropic", defaultBaseURL: "https://api.anthropic.com", auth: .xAPIKey, errors: .anthropic,
      baseURLVariables: [.init("ANTHROPIC_BASE_URL"), .init("ANTHROPIC_API_BASE")], compatiblePath: "/v1"),
    .init(
      id: "google", defaultBaseURL: "https://generativelanguage.googleapis.com", auth: .googAPIKey, errors: .google,
      baseURLVariables: [.init("GOOGLE_GEMINI_BASE_URL"), .init("GEMINI_API_BASE", suffix: "/v1beta")],
      compatiblePath: "/v1beta/openai"),
    .init(
      id: "mistral", defaultBaseURL: "https://api.mistral.ai/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("MISTRAL_API_BASE")]),
    .init(
      id: "groq", defaultBaseURL: "https://api.groq.com", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("GROQ_BASE_URL"), .init("GROQ_API_BASE", suffix: "/openai/v1")],
      compatiblePath: "/openai/v1"),
    .init(
      id: "cohere", defaultBaseURL: "https://api.cohere.com", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("CO_API_URL")], compatiblePath: "/compatibility/v1"),
    .init(
      id: "together", defaultBaseURL: "https://api.together.xyz/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("TOGETHER_BASE_URL"), .init("TOGETHER_AI_API_BASE")]),
    .init(
      id: "openrouter", defaultBaseURL: "https://openrouter.ai/api/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("OPENROUTER_API_BASE")]),
    .init(
      id: "deepseek", defaultBaseURL: "https://api.deepseek.com", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("DEEPSEEK_API_BASE")]),
    .init(
      id: "xai", defaultBaseURL: "https://api.x.ai/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("XAI_API_BASE")]),
    .init(
      id: "perplexity", defaultBaseURL: "https://api.perplexity.ai", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("PERPLEXITY_API_BASE")]),
    .init(
      id: "fireworks", defaultBaseURL: "https://api.fireworks.ai/inference/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("FIREWORKS_API_BASE")]),
    .init(
      id: "huggingface", defaultBaseURL: "https://router.huggingface.co/v1", auth: .bearer, errors: .openAI,
      baseURLVariables: []),
    .init(
      id: "azure", defaultBaseURL: nil, auth: .azureAPIKey, errors: .openAI,
      baseURLVariables: [.init("AZURE_OPENAI_ENDPOINT"), .init("AZURE_API_BASE")]),
    .init(
      id: "ollama", defaultBaseURL: nil, auth: .bearer, errors: .openAI,
      baseURLVariables: [.init("OLLAMA_HOST"), .init("OLLAMA_API_BASE")]),
  ]

  /// The catalogue entry of `id`; a provider the catalogue does not know (`local`, say) is
  /// OpenAI-compatible with a bearer key, and usable once the owner gives it a base URL.
  public static func provider(id: String) -> GatewayProvider {
    all.first { $0.id == id }
      ?? GatewayProvider(
        id: id, defaultBaseURL: nil, auth: .bearer, errors: .openAI,
        baseURLVariables: [
          .init(id.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() + "_API_BASE")
        ])
  }
}
