/// "Did you mean ...?": the known name closest to a mistyped one, for commands, options,
/// settings and providers.
public enum NearestName {
  /// The name in `candidates` nearest to `typed` (optimal string alignment distance, so a swap
  /// of two neighbours counts once), if it is near enough to be a likely typo: at most 1 edit
  /// for names up to 4 characters, else at most 2. Ties go to the first candidate.
  public static func nearest(to typed: String, among candidates: [String]) -> String? {
    let typed = Array(typed.lowercased().unicodeScalars)
    guard !typed.isEmpty, typed.count <= 64 else { return nil }
    let limit = typed.count <= 4 ? 1 : 2
    var best: (name: String, distance: Int)? = nil
    for candidate in candidates {
      let distance = Self.distance(typed, Array(candidate.lowercased().unicodeScalars))
      if distance > 0, distance <= limit, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
    }
    return best?.name
  }

  /// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
  /// of adjacent characters, each costing one.
  static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
        }
      }
    }
    return table[a.count][b.count]
  }
}
