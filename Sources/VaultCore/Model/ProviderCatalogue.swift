/// The providers `vault` knows by name, with the variables their SDKs read (from
/// shared/PROVIDERS.md). `vault import` uses it to link `OPENAI_API_KEY` to `openai`.
public enum ProviderCatalogue {
  public struct Provider: Sendable {
    public var id: String
    /// The variables the provider's own SDK reads its key from, preferred first.
    public var sdkVariables: [String]
    /// What LiteLLM reads where it differs.
    public var liteLLMVariables: [String]
  }

  public static let providers: [Provider] = [
    Provider(id: "openai", sdkVariables: ["OPENAI_API_KEY"], liteLLMVariables: []),
    Provider(id: "anthropic", sdkVariables: ["ANTHROPIC_API_KEY"], liteLLMVariables: []),
    Provider(id: "google", sdkVariables: ["GOOGLE_API_KEY"], liteLLMVariables: ["GEMINI_API_KEY"]),
    Provider(id: "azure", sdkVariables: ["AZURE_OPENAI_API_KEY"], liteLLMVariables: ["AZURE_API_KEY"]),
    Provider(id: "mistral", sdkVariables: ["MISTRAL_API_KEY"], liteLLMVariables: []),
    Provider(id: "groq", sdkVariables: ["GROQ_API_KEY"], liteLLMVariables: []),
    Provider(id: "cohere", sdkVariables: ["CO_API_KEY"], liteLLMVariables: ["COHERE_API_KEY"]),
    Provider(id: "together", sdkVariables: ["TOGETHER_API_KEY"], liteLLMVariables: []),
    Provider(id: "openrouter", sdkVariables: ["OPENROUTER_API_KEY"], liteLLMVariables: []),
    Provider(id: "deepseek", sdkVariables: ["DEEPSEEK_API_KEY"], liteLLMVariables: []),
    Provider(id: "xai", sdkVariables: ["XAI_API_KEY"], liteLLMVariables: []),
    Provider(id: "perplexity", sdkVariables: ["PERPLEXITY_API_KEY"], liteLLMVariables: ["PERPLEXITYAI_API_KEY"]),
    Provider(id: "fireworks", sdkVariables: ["FIREWORKS_API_KEY"], liteLLMVariables: ["FIREWORKS_AI_API_KEY"]),
    Provider(id: "bedrock", sdkVariables: ["AWS_BEARER_TOKEN_BEDROCK"], liteLLMVariables: []),
    Provider(id: "huggingface", sdkVariables: ["HF_TOKEN"], liteLLMVariables: ["HUGGINGFACE_API_KEY"]),
    Provider(id: "ollama", sdkVariables: ["OLLAMA_API_KEY"], liteLLMVariables: []),
  ]

  /// The provider whose SDK or LiteLLM reads `variable`, if any.
  public static func provider(forVariable variable: String) -> String? {
    providers.first { $0.sdkVariables.contains(variable) || $0.liteLLMVariables.contains(variable) }?.id
  }
}
