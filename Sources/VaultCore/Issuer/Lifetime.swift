/// Durations as users type them: `90d`, `12h`, `45m`, `90s` (the presets 7d, 30d, 60d, 90d,
/// 180d and 365d are just common values).
public enum Lifetime {
  public static let presets = ["7d", "30d", "60d", "90d", "180d", "365d"]

  /// Seconds in `text`, or nil when it is not `<positive integer><d|h|m|s>`.
  public static func seconds(_ text: String) -> Int64? {
    guard let unit = text.last, text.count >= 2, text.count <= 12 else { return nil }
    let digits = text.dropLast()
    guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let count = Int64(digits), count > 0 else {
      return nil
    }
    let scale: Int64
    switch unit {
    case "d": scale = 86_400
    case "h": scale = 3_600
    case "m": scale = 60
    case "s": scale = 1
    default: return nil
    }
    let (total, overflow) = count.multipliedReportingOverflow(by: scale)
    return overflow ? nil : total
  }

  /// "in 3 days", "in 5 hours", "in 12 minutes", "in 40 seconds", or "expired". Rounded up:
  /// a key created with `--expires 3d` a second ago expires "in 3 days", not 2.
  public static func remaining(until end: Timestamp, from now: Timestamp) -> String {
    let seconds = end.secondsSinceEpoch - now.secondsSinceEpoch
    guard seconds > 0 else { return "expired" }
    func plural(_ count: Int64, _ unit: String) -> String { "in \(count) \(unit)\(count == 1 ? "" : "s")" }
    func roundedUp(_ unit: Int64) -> Int64 { (seconds + unit - 1) / unit }
    if seconds > 86_400 { return plural(roundedUp(86_400), "day") }
    if seconds > 3_600 { return plural(roundedUp(3_600), "hour") }
    if seconds > 60 { return plural(roundedUp(60), "minute") }
    return plural(seconds, "second")
  }
}
