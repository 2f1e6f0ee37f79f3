/// Which environment variable names a provider key's value may be injected under: the one
/// policy `add`, `edit --name`, `edit --env`, `link --env`, `import`, `run`, `env` and `inject`
/// all apply (docs/SECURITY.md, "Names a key is injected under").
///
/// A list of dangerous names is always one name short, so the policy refuses families, by what
/// a variable does rather than by its spelling:
/// - every variable of a tool or runtime that reads its configuration from the environment
///   (`GIT_*`, `PYTHON*`, `NODE_*`, `LD_*`, ...): such a family grows with every release of the
///   tool, and a provider key has no business in any of it;
/// - every variable whose role is to name code, a program, a place or a switch (`*PATH`,
///   `*_PROXY`, `*_URL`, `*OPTIONS`, `*FLAGS`, `*_COMMAND`, `*LIB`, `*_CONFIG`, ...), whatever
///   tool reads it;
/// - a short list of exact names the families cannot describe (`IFS`, `ENV`, `PS4`, ...);
/// - every `VAULT_*` name, so a future credential variable of vault's own is covered too.
/// Names are matched without regard to case: `http_proxy`, `npm_config_registry` and
/// `Path` are read by some programs as freely as their uppercase forms.
///
/// What is left is what provider keys are actually read from (`OPENAI_API_KEY`, `HF_TOKEN`,
/// `MY_API`): variables a program treats as a credential to send, never as code to load, a
/// place to look or a switch to flip.
public enum InjectedNamePolicy {
  /// Prefixes of the environment families of tools and runtimes, uppercase.
  public static let refusedPrefixes: [String] = [
    // The dynamic loader and the C library.
    "LD_", "DYLD_", "GLIBC_", "MALLOC_", "GCONV_", "LC_", "LOCPATH", "NLSPATH", "RES_", "LOCALDOMAIN", "HOSTALIASES",
    // Shells and terminals.
    "BASH", "ZSH", "ZDOTDIR", "KSH_", "SHELL", "PROMPT_", "TERM", "LESS", "MANPAGER", "MANOPT",
    // Version control, remote shells, agents.
    "GIT_", "SSH_", "GPG", "GNUPG", "SUDO_",
    // Languages, their package managers and build tools.
    "PERL", "PYTHON", "PIP_", "UV_", "CONDA_", "VIRTUAL_ENV", "POETRY_", "RUBY", "GEM_", "BUNDLE_", "NODE_", "NPM_",
    "YARN_", "PNPM_", "DENO_", "BUN_", "COREPACK_", "JAVA_", "_JAVA_", "JDK_", "JVM_", "CLASSPATH", "MAVEN_", "GRADLE_",
    "SBT_", "DOTNET_", "CORECLR_", "COMPLUS_", "NUGET_", "RUST", "CARGO_", "CGO_", "LUA", "ERL_", "ELIXIR_", "MIX_",
    "PHP", "TCL", "R_", "JULIA_", "CMAKE_", "PKG_CONFIG", "MAKE",
    // TLS, HTTP clients, containers, desktops.
    "OPENSSL_", "SSL_", "CURL_", "WGET", "REQUESTS_", "DOCKER_", "KUBE", "XDG_", "DBUS_", "DISPLAY", "WAYLAND_",
    "XAUTHORITY",
    // vault itself: credentials and settings, present and future.
    "VAULT_",
  ]

  /// Suffixes naming a variable's role, uppercase: code, programs, places, switches, traffic.
  public static let refusedSuffixes: [String] = [
    // Where code and data are looked for.
    "PATH", "HOME", "DIR", "DIRS", "_FILE", "LIB", "LIBS", "_LIBRARY", "_LIBRARIES", "_PRELOAD", "_MODULES",
    "_PLUGINS", "_INIT", "_STARTUP", "_PROFILE", "_ENV", "_CONFIG", "CONFIG", "_CONF", "_RC",
    // Switches and arguments.
    "OPT", "OPTS", "OPTIONS", "FLAGS", "ARGS",
    // Programs run on the caller's behalf.
    "_COMMAND", "_CMD", "_EXEC", "_PROGRAM", "_HOOK", "_HOOKS", "ASKPASS", "_WRAPPER", "EDITOR", "PAGER", "BROWSER",
    // Where traffic goes and whom it trusts.
    "_PROXY", "_URL", "_URI", "_ENDPOINT", "_HOST", "_ADDR", "_ADDRESS", "_SOCK", "_SOCKET", "_SERVER",
    "_REGISTRY", "_MIRROR", "_API_BASE", "_BASE", "_CA", "_CA_BUNDLE", "_CERT", "_CERTS",
  ]

  /// Exact names the families above do not describe, uppercase.
  public static let refusedNames = Set(refusedNameList)

  private static let refusedNameList = [
    "IFS", "ENV", "PS1", "PS2", "PS3", "PS4", "VISUAL", "TMP", "TEMP", "TZ", "LANG", "LANGUAGE", "USER", "LOGNAME",
    "MAIL", "CC", "CXX", "CPP", "LD", "AR",
  ]

  /// Why `name` is never injected, or nil when it may be. The reason names the family, so the
  /// error says which rule applies.
  ///
  /// Compared as ASCII bytes, uppercased: `vault run` checks every variable of every key it
  /// injects (thousands per launch), and a name is an ASCII identifier by the time it is
  /// checked; any other byte is compared as it is, which can only refuse more. The name is read
  /// in place and uppercased byte by byte as it is compared, with no copy.
  public static func refusal(for name: String) -> String? {
    var name = name
    return name.withUTF8 { refusal(forBytes: $0) }
  }

  static func refusal(forBytes name: UnsafeBufferPointer<UInt8>) -> String? {
    if hasPrefix(name, vaultPrefix) { return "is reserved for vault itself" }
    if name.count <= longestRefusedName,
      (0..<names.count).contains(where: { names.length($0) == name.count && names.isPrefix($0, of: name) })
    {
      return "changes how programs run"
    }
    // Only the prefixes sharing the name's first byte, and the suffixes sharing its last, can
    // match: a handful of the 150 for any name, tried in list order so the reason is the same.
    if let first = name.first,
      let index = prefixesByFirstByte.first(of: uppercased(first), where: { prefixes.isPrefix($0, of: name) })
    {
      return "belongs to the \(refusedPrefixes[index])* family that configures programs"
    }
    if let last = name.last,
      let index = suffixesByLastByte.first(of: uppercased(last), where: { suffixes.isSuffix($0, of: name) })
    {
      return "ends in \(refusedSuffixes[index]), which names code, a program, a place or a switch"
    }
    // Go reads GO followed by letters and digits without an underscore (GOFLAGS, GOPROXY,
    // GOTOOLCHAIN, GO111MODULE): refused as a family, while GOOGLE_API_KEY stays allowed.
    if hasPrefix(name, goPrefix), name.count > 2, !name.contains(UInt8(ascii: "_")) {
      return "belongs to the GO* family that configures Go"
    }
    return nil
  }

  private static let vaultPrefix = Array("VAULT_".utf8)
  private static let goPrefix = Array("GO".utf8)
  // Each list packed into one byte array, not one array per entry: 165 arrays and a set of 20
  // cost every `vault run` about 130,000 instructions to build, for the handful of entries any
  // one name is compared with.
  private static let prefixes = PackedList(refusedPrefixes)
  private static let suffixes = PackedList(refusedSuffixes)
  private static let names = PackedList(refusedNameList)
  /// Indices into `prefixes` by their first byte, and into `suffixes` by their last.
  private static let prefixesByFirstByte = ByteIndex((0..<prefixes.count).map { prefixes.first($0) })
  private static let suffixesByLastByte = ByteIndex((0..<suffixes.count).map { suffixes.last($0) })
  private static let longestRefusedName = (0..<names.count).reduce(0) { max($0, names.length($1)) }

  /// Uppercase ASCII strings in one byte array: entry `i` is `bytes[starts[i]..<starts[i + 1]]`.
  private struct PackedList {
    private var bytes: [UInt8] = []
    private var starts: [Int] = [0]

    init(_ list: [String]) {
      for entry in list {
        bytes += entry.utf8
        starts.append(bytes.count)
      }
    }

    var count: Int { starts.count - 1 }
    func length(_ index: Int) -> Int { starts[index + 1] - starts[index] }
    func first(_ index: Int) -> UInt8 { bytes[starts[index]] }
    func last(_ index: Int) -> UInt8 { bytes[starts[index + 1] - 1] }

    /// Whether `name`, uppercased, starts with entry `index`.
    func isPrefix(_ index: Int, of name: UnsafeBufferPointer<UInt8>) -> Bool {
      InjectedNamePolicy.holds(name, entry(index), at: 0)
    }

    /// Whether `name`, uppercased, ends with entry `index`.
    func isSuffix(_ index: Int, of name: UnsafeBufferPointer<UInt8>) -> Bool {
      InjectedNamePolicy.holds(name, entry(index), at: name.count - length(index))
    }

    private func entry(_ index: Int) -> ArraySlice<UInt8> { bytes[starts[index]..<starts[index + 1]] }
  }

  /// The positions of a list grouped by one byte of each entry (`keys[position]`), in list order
  /// within a group: two flat arrays (a counting sort), not 256 arrays.
  private struct ByteIndex {
    /// Group `b` is `positions[starts[b]..<starts[b + 1]]`.
    private var starts = [Int](repeating: 0, count: 257)
    private var positions: [Int]

    init(_ keys: [UInt8]) {
      for key in keys { starts[Int(key) + 1] += 1 }
      for group in 0..<256 { starts[group + 1] += starts[group] }
      var next = starts
      positions = [Int](repeating: 0, count: keys.count)
      for position in keys.indices {
        let group = Int(keys[position])
        positions[next[group]] = position
        next[group] += 1
      }
    }

    /// The first position in group `byte` that satisfies `predicate`.
    func first(of byte: UInt8, where predicate: (Int) -> Bool) -> Int? {
      for slot in starts[Int(byte)]..<starts[Int(byte) + 1] where predicate(positions[slot]) {
        return positions[slot]
      }
      return nil
    }
  }

  fileprivate static func uppercased(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 0x20 : byte
  }

  /// Whether `name`, uppercased, starts with `prefix` (uppercase).
  private static func hasPrefix(_ name: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8]) -> Bool {
    holds(name, prefix[...], at: 0)
  }

  /// Whether `name`, uppercased from `offset` on, reads `entry` (uppercase): the one comparison
  /// behind every prefix, suffix and exact name.
  fileprivate static func holds(_ name: UnsafeBufferPointer<UInt8>, _ entry: ArraySlice<UInt8>, at offset: Int) -> Bool
  {
    guard offset >= 0, name.count - offset >= entry.count else { return false }
    var position = offset
    for byte in entry {
      guard uppercased(name[position]) == byte else { return false }
      position += 1
    }
    return true
  }
}
