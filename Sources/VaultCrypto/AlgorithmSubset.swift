import COpenSSL
import Glibc

/// An OpenSSL library context that knows only the algorithms the vault fetches, each one the
/// default provider's own implementation.
///
/// Why it exists: OpenSSL 3 has no way to fetch one algorithm alone. The first fetch of a cipher
/// builds a method, and names, for every cipher of every provider in the library context, about
/// 130 for the default provider: 2.9 M instructions, two fifths of a 10-key `vault run`, for the
/// one cipher it uses (bench/README.md, "Fourth round"). What a fetch builds is what the
/// providers offer, and a provider chooses what it offers; so `Algorithms` fetches from a context
/// of its own whose one provider offers the few algorithms below, and its fetches build those
/// alone.
///
/// Nothing here implements an algorithm. The provider re-offers, unchanged, the entries the
/// default provider itself lists for each operation (`OSSL_PROVIDER_query_operation`): the same
/// dispatch tables, called through the same EVP interfaces, with the default provider's own
/// provider context, so each call runs the code a fetch from a default context runs.
///
/// That default provider is loaded into a second private context, the donor, never the process's
/// default context: the default context stays as the process (or an openssl.cnf the gateway's
/// TLS loads) configured it. The donor and the provider are never freed, and the default
/// provider's algorithm tables are static data of libcrypto, so the copied entries stay valid
/// for the process. What the donor still pays: an implementation that looks up another algorithm
/// by name does so in its provider's context, the donor, whose first look-up of an operation
/// builds all of it. HKDF looks up SHA-256 and HMAC that way (about 0.7 M instructions, once).
enum AlgorithmSubset {
  /// The algorithms offered, each by the name the default provider lists first (`Algorithms`
  /// may fetch it by any of its names).
  static let ciphers = ["AES-128-GCM", "AES-192-GCM", "AES-256-GCM", "ChaCha20-Poly1305"]
  static let digests = ["SHA2-256"]
  static let keyDerivations = ["HKDF"]

  /// The context to fetch from, or nil when the default provider cannot be loaded or does not
  /// list one of the algorithms (then `Algorithms` fetches from the process's default context).
  static func makeContext() -> OpaquePointer? {
    // `Offer.shared` is complete before the provider's init function, which runs inside
    // `OSSL_PROVIDER_load`, reads it.
    guard Offer.shared != nil, let context = OSSL_LIB_CTX_new() else {
      clearOpenSSLErrors()
      return nil
    }
    // The provider's entry point answers only `query_operation`, and hands OpenSSL the default
    // provider's context as its own: the context the offered implementations expect.
    let added = OSSL_PROVIDER_add_builtin(context, providerName) { _, _, dispatchOut, providerContextOut in
      guard let offer = Offer.shared, let dispatchOut, let providerContextOut else { return 0 }
      dispatchOut.pointee = UnsafePointer(offer.providerDispatch)
      providerContextOut.pointee = offer.defaultProviderContext
      return 1
    }
    guard added == 1,
      OSSL_PROVIDER_load(context, providerName) != nil
    else {
      clearOpenSSLErrors()
      OSSL_LIB_CTX_free(context)
      return nil
    }
    return context
  }

  private static let providerName = "llm-vault-subset"

  /// Starts the donor's default provider, once, before anything starts the process's default
  /// context. OpenSSL 3.0's default provider fills its one process-wide table of ciphers when
  /// an instance of it starts (`ossl_default_provider_init` calls
  /// `ossl_prov_cache_exported_algorithms`, which fills `exported_ciphers` without a lock if its
  /// first entry is empty; openssl/openssl#28935 is another unlocked write in the same function),
  /// so the two instances, the donor's and the default context's, must not start at once on two
  /// threads: one could read the other's half-written table, a list cut short or an entry named
  /// but without its functions (seen once in the suite: `vault get` crashed on a NULL dispatch
  /// table in `evp_cipher_from_algorithm`, its second thread starting the donor while the first
  /// started the default context for scrypt; reproduced apart in a C program, bench/README.md,
  /// "Tenth round"). `Offer.shared` is a Swift global,
  /// initialized once and waited for by any other thread that asks meanwhile, so every user of
  /// the default context (scrypt, the random generator, HMAC, X25519, and the gateway before
  /// libssl through `OpenSSLStartup.startProvidersInOrder`) calls this first: no start of the
  /// default context's instance overlaps the donor's. (Once one instance has filled the tables,
  /// later starts only read them.)
  static func startBeforeTheDefaultContext() {
    _ = Offer.shared
  }
}

/// The entries the subset provider offers, copied once from the default provider's lists into
/// memory that lives as long as the process.
private struct Offer: @unchecked Sendable {
  /// The donor context and the default provider loaded in it: held, never freed or unloaded,
  /// because the offered implementations run with this provider's context.
  let donorContext: OpaquePointer
  let defaultProvider: OpaquePointer
  let defaultProviderContext: UnsafeMutableRawPointer
  /// Per operation, a list ending in an all-nil entry, as `query_operation` returns. Each entry
  /// keeps the default provider's property definition (`provider=default`): a fetch by property
  /// from the subset context matches `provider=default`, not the subset provider's name.
  let ciphers: UnsafeMutablePointer<OSSL_ALGORITHM>
  let digests: UnsafeMutablePointer<OSSL_ALGORITHM>
  let keyDerivations: UnsafeMutablePointer<OSSL_ALGORITHM>
  let providerDispatch: UnsafeMutablePointer<OSSL_DISPATCH>

  static let shared = Offer()

  // Plain pointers and arrays of String throughout, no dictionaries or sets: each generic type
  // a process uses for the first time costs the Swift runtime a metadata look-up by name, and
  // this runs at the start of every `vault run`.
  private init?() {
    guard let donor = OSSL_LIB_CTX_new() else { return nil }
    let defaultProvider = OSSL_PROVIDER_load(donor, "default")
    let providerContext = defaultProvider.flatMap(OSSL_PROVIDER_get0_provider_ctx)
    let ciphers = defaultProvider.flatMap {
      Offer.entries(of: $0, operation: OSSL_OP_CIPHER, named: AlgorithmSubset.ciphers)
    }
    let digests = defaultProvider.flatMap {
      Offer.entries(of: $0, operation: OSSL_OP_DIGEST, named: AlgorithmSubset.digests)
    }
    let keyDerivations = defaultProvider.flatMap {
      Offer.entries(of: $0, operation: OSSL_OP_KDF, named: AlgorithmSubset.keyDerivations)
    }
    guard let defaultProvider, let providerContext, let ciphers, let digests, let keyDerivations else {
      for list in [ciphers, digests, keyDerivations] { list?.deallocate() }
      OSSL_LIB_CTX_free(donor)
      return nil
    }
    let query:
      @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?)
        -> UnsafePointer<OSSL_ALGORITHM>? = { _, operation, noStore in
          // Methods built from these entries may be kept in the context's store like any others.
          noStore?.pointee = 0
          guard let offer = Offer.shared else { return nil }
          switch operation {
          case OSSL_OP_CIPHER: return UnsafePointer(offer.ciphers)
          case OSSL_OP_DIGEST: return UnsafePointer(offer.digests)
          case OSSL_OP_KDF: return UnsafePointer(offer.keyDerivations)
          default: return nil
          }
        }
    let dispatch = UnsafeMutablePointer<OSSL_DISPATCH>.allocate(capacity: 2)
    dispatch[0] = OSSL_DISPATCH(
      function_id: OSSL_FUNC_PROVIDER_QUERY_OPERATION,
      function: unsafeBitCast(query, to: (@convention(c) () -> Void).self))
    dispatch[1] = OSSL_DISPATCH(function_id: 0, function: nil)
    self.donorContext = donor
    self.defaultProvider = defaultProvider
    self.defaultProviderContext = providerContext
    self.ciphers = ciphers
    self.digests = digests
    self.keyDerivations = keyDerivations
    self.providerDispatch = dispatch
  }

  /// The default provider's entries for `operation` whose first name is one of `names`, with the
  /// end marker; nil unless every name was found.
  private static func entries(of provider: OpaquePointer, operation: Int32, named names: [String])
    -> UnsafeMutablePointer<OSSL_ALGORITHM>?
  {
    var noStore: Int32 = 0
    guard let listed = OSSL_PROVIDER_query_operation(provider, operation, &noStore) else { return nil }
    defer { OSSL_PROVIDER_unquery_operation(provider, operation, listed) }
    // Two passes over the list: count and check, then copy.
    var count = 0
    var found = 0  // a bit per name
    var entry = listed
    while let entryNames = entry.pointee.algorithm_names {
      if let index = names.firstIndex(where: { isFirstName($0, of: entryNames) }) {
        count += 1
        found |= 1 << index
      }
      entry += 1
    }
    guard found == (1 << names.count) - 1 else { return nil }
    let list = UnsafeMutablePointer<OSSL_ALGORITHM>.allocate(capacity: count + 1)
    var copied = 0
    entry = listed
    while let entryNames = entry.pointee.algorithm_names {
      if names.contains(where: { isFirstName($0, of: entryNames) }) {
        (list + copied).initialize(to: entry.pointee)
        copied += 1
      }
      entry += 1
    }
    (list + copied).initialize(to: OSSL_ALGORITHM())
    return list
  }

  /// Whether `name` is the first of `names`, a colon-separated list such as
  /// "AES-256-GCM:id-aes256-GCM:2.16.840.1.101.3.4.1.46".
  private static func isFirstName(_ name: String, of names: UnsafePointer<CChar>) -> Bool {
    var name = name
    return name.withUTF8 { bytes in
      strncmp(names, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), bytes.count) == 0
        && (names[bytes.count] == 0 || names[bytes.count] == 0x3A)
    }
  }
}
