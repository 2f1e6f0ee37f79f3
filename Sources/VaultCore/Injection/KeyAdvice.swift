import VaultCrypto

/// Warnings about a provider key that is stored anyway: a provider the catalogue does not know
/// (probably a typo), a value shaped like another provider's key, a value too short to mask.
/// Each is one line naming the key, never showing its value.
public enum KeyAdvice {
  /// Values shorter than this (in Unicode scalars) are not secrets worth masking: `--mask`
  /// would otherwise replace every "true" or "8080" in a program's output.
  public static let minimumMaskedLength = 8

  /// Prefixes that only one provider's keys start with (documented formats), most specific first.
  static let keyPrefixes: [(prefix: String, provider: String)] = [
    ("sk-ant-", "anthropic"), ("sk-or-", "openrouter"), ("sk-proj-", "openai"), ("sk-svcacct-", "openai"),
    ("AIza", "google"), ("gsk_", "groq"), ("xai-", "xai"), ("hf_", "huggingface"), ("pplx-", "perplexity"),
    ("fw_", "fireworks"),
  ]

  /// The provider whose key format `value` has, if it has a distinctive one.
  public static func provider(forValue value: SecretBytes) -> String? {
    value.withUnsafeBytes { bytes in
      keyPrefixes.first { bytes.starts(with: Array($0.prefix.utf8)) }?.provider
    }
  }

  /// The provider a masked form (`AIz…xyz`) points to, when its three visible characters begin
  /// the distinctive prefixes of one provider only. `sk-` begins the prefixes of several
  /// (`sk-ant-`, `sk-or-`, `sk-proj-`), so an Anthropic key linked to OpenAI is seen only when
  /// its value is at hand (`add`, `edit`); `AIz` (Google), `gsk` (Groq) or `hf_` (Hugging Face)
  /// are seen from the masked form alone, with no passphrase (`vault doctor`).
  public static func provider(forMasked masked: String) -> String? {
    guard masked != Masking.wholeMask, Masking.isMaskForm(masked) else { return nil }
    let visible = String(String.UnicodeScalarView(masked.unicodeScalars.prefix(3)))
    guard !sharedKeyPrefixes.contains(visible) else { return nil }
    let providers = Set(keyPrefixes.filter { $0.prefix.hasPrefix(visible) }.map(\.provider))
    return providers.count == 1 ? providers.first : nil
  }

  /// The length of `value` in Unicode scalars (UTF-8 lead bytes), without copying it.
  public static func scalarCount(_ value: SecretBytes) -> Int {
    value.withUnsafeBytes { bytes in bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
  }

  /// Whether `--mask` masks `value`.
  public static func isMaskable(_ value: SecretBytes) -> Bool { scalarCount(value) >= minimumMaskedLength }

  /// A provider the catalogue does not know, with the nearest one it does.
  public static func unknownProvider(_ provider: String) -> String? {
    guard ProviderCatalogue.provider(id: provider) == nil else { return nil }
    let near = NearestName.nearest(to: provider, among: ProviderCatalogue.providers.map(\.id))
    return "provider '\(provider)' is not one vault knows\(near.map { " (did you mean '\($0)'?)" } ?? ""): "
      + "its keys go in under their own names only; docs/PROVIDERS.md lists the known providers"
  }

  /// Every warning for key `name` linked to `provider` (nil: not linked) with `value` (nil: the
  /// value is not at hand, as when only the provider changes).
  public static func warnings(name: String, provider: String?, value: SecretBytes?) -> [String] {
    var warnings: [String] = []
    if let provider, let unknown = unknownProvider(provider) { warnings.append(unknown) }
    if let value {
      if let provider, let shaped = self.provider(forValue: value), shaped != provider {
        warnings.append("\(name)'s value is shaped like a key of \(shaped), but it is linked to \(provider)")
      }
      if !isMaskable(value) {
        warnings.append(
          "\(name)'s value has fewer than \(minimumMaskedLength) characters: too short to be a secret, so 'vault run --mask' will not mask it"
        )
      }
    }
    return warnings
  }

  /// Prefixes of API keys that several providers share (OpenAI, DeepSeek, Stripe...): a
  /// credential's shape, though not one provider's.
  static let sharedKeyPrefixes = ["sk-", "sk_"]

  /// Name endings that mark a credential in a `.env` file.
  static let credentialSuffixes = ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"]

  /// Whether a `.env` line looks like a credential, so `vault import` takes it without `--all`:
  /// its name ends in `_KEY`, `_TOKEN`, `_SECRET` or `_PASSWORD` (any case), is a variable of the
  /// provider catalogue, or its value is shaped like a provider's key (`sk-...`, `AIza...`). `DEBUG=true` and
  /// `PORT=8080` are not.
  public static func looksLikeCredential(name: String, value: SecretBytes) -> Bool {
    let upper = name.uppercased()
    return credentialSuffixes.contains { upper.hasSuffix($0) } || ProviderCatalogue.provider(forVariable: name) != nil
      || provider(forValue: value) != nil
      || value.withUnsafeBytes { bytes in sharedKeyPrefixes.contains { bytes.starts(with: Array($0.utf8)) } }
  }
}
