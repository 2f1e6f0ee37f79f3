/// The providers `vault` knows by name: the variables their SDKs read, and the model families
/// that belong to them (from shared/PROVIDERS.md, as LiteLLM maps them). `vault run` injects a
/// key under its provider's variables; `vault import` links `OPENAI_API_KEY` to `openai`.
public enum ProviderCatalogue {
  public struct Provider: Sendable {
    public var id: String
    /// The variables the provider's own SDK reads its key from, preferred first.
    public var sdkVariables: [String]
    /// What LiteLLM reads where it differs. Both are injected, so either client finds the key.
    public var liteLLMVariables: [String]
    /// Model name prefixes of this provider's families (`gpt-`, `claude-`).
    public var modelPrefixes: [String]

    /// Every variable a key of this provider is injected under, SDK first.
    public var variables: [String] { sdkVariables + liteLLMVariables.filter { !sdkVariables.contains($0) } }
  }

  public static let providers: [Provider] = [
    Provider(
      id: "openai", sdkVariables: ["OPENAI_API_KEY"], liteLLMVariables: [],
      modelPrefixes: ["gpt-", "o1", "o3", "o4", "chatgpt-"]),
    Provider(id: "anthropic", sdkVariables: ["ANTHROPIC_API_KEY"], liteLLMVariables: [], modelPrefixes: ["claude-"]),
    Provider(
      id: "google", sdkVariables: ["GOOGLE_API_KEY"], liteLLMVariables: ["GEMINI_API_KEY"], modelPrefixes: ["gemini-"]),
    Provider(
      id: "azure", sdkVariables: ["AZURE_OPENAI_API_KEY"], liteLLMVariables: ["AZURE_API_KEY"], modelPrefixes: []),
    Provider(
      id: "mistral", sdkVariables: ["MISTRAL_API_KEY"], liteLLMVariables: [], modelPrefixes: ["mistral-", "codestral-"]),
    Provider(id: "groq", sdkVariables: ["GROQ_API_KEY"], liteLLMVariables: [], modelPrefixes: []),
    Provider(
      id: "cohere", sdkVariables: ["CO_API_KEY"], liteLLMVariables: ["COHERE_API_KEY"], modelPrefixes: ["command-"]),
    Provider(id: "together", sdkVariables: ["TOGETHER_API_KEY"], liteLLMVariables: [], modelPrefixes: []),
    Provider(id: "openrouter", sdkVariables: ["OPENROUTER_API_KEY"], liteLLMVariables: [], modelPrefixes: []),
    Provider(id: "deepseek", sdkVariables: ["DEEPSEEK_API_KEY"], liteLLMVariables: [], modelPrefixes: ["deepseek-"]),
    Provider(id: "xai", sdkVariables: ["XAI_API_KEY"], liteLLMVariables: [], modelPrefixes: ["grok-"]),
    Provider(
      id: "perplexity", sdkVariables: ["PERPLEXITY_API_KEY"], liteLLMVariables: ["PERPLEXITYAI_API_KEY"],
      modelPrefixes: []),
    Provider(
      id: "fireworks", sdkVariables: ["FIREWORKS_API_KEY"], liteLLMVariables: ["FIREWORKS_AI_API_KEY"],
      modelPrefixes: []),
    Provider(id: "bedrock", sdkVariables: ["AWS_BEARER_TOKEN_BEDROCK"], liteLLMVariables: [], modelPrefixes: []),
    Provider(
      id: "huggingface", sdkVariables: ["HF_TOKEN"], liteLLMVariables: ["HUGGINGFACE_API_KEY"], modelPrefixes: []),
    Provider(id: "ollama", sdkVariables: ["OLLAMA_API_KEY"], liteLLMVariables: [], modelPrefixes: []),
  ]

  /// Explicit `provider/model` prefixes LiteLLM uses that differ from our provider ids.
  private static let prefixAliases = [
    "gemini": "google", "vertex_ai": "google", "azure": "azure", "bedrock": "bedrock",
  ]

  public static func provider(id: String) -> Provider? {
    providers.first { $0.id == id }
  }

  /// The provider whose SDK or LiteLLM reads `variable`, if any.
  public static func provider(forVariable variable: String) -> String? {
    providers.first { $0.sdkVariables.contains(variable) || $0.liteLLMVariables.contains(variable) }?.id
  }

  /// The provider a model name belongs to: an explicit `provider/model` prefix wins, then the
  /// well-known families. Nil for an unknown name: those need an explicit link, never a guess.
  public static func provider(forModel model: String) -> String? {
    if let slash = model.firstIndex(of: "/") {
      let prefix = String(model[..<slash]).lowercased()
      return prefixAliases[prefix] ?? provider(id: prefix)?.id
    }
    let lowered = model.lowercased()
    return providers.first { $0.modelPrefixes.contains { lowered.hasPrefix($0) } }?.id
  }
}
