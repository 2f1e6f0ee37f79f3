/// How a provider key's value is shown: never whole, and never half of it.
public enum Masking {
  /// Values this short are masked whole: showing 6 of 12 characters would be half the key.
  public static let shortValueLimit = 12
  /// The fixed form of a short value. Fixed, so it does not tell the value's length either.
  public static let wholeMask = "********"

  /// The first 3 and last 3 characters (Unicode scalars) with an ellipsis between,
  /// e.g. `sk-…xyz`; `********` for a value of 12 characters or fewer. A control character
  /// among the six shown becomes `?`, so a mask never breaks a table row or reaches the
  /// terminal as an escape sequence.
  public static func mask(_ value: String) -> String {
    let scalars = Array(value.unicodeScalars)
    guard scalars.count > shortValueLimit else { return wholeMask }
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars.prefix(3).map(printable))
    view.append("\u{2026}")
    view.append(contentsOf: scalars.suffix(3).map(printable))
    return String(view)
  }

  /// Whether `text` is a form `mask` can produce: `********`, or three scalars, U+2026 and three
  /// scalars, none of them a control character. The reader refuses any other `masked`, so what
  /// `list` prints from a file is never longer than seven characters nor an escape sequence.
  public static func isMaskForm(_ text: String) -> Bool {
    if text == wholeMask { return true }
    // Scalar by scalar, with no array: the reader checks every key's mask.
    var count = 0
    for scalar in text.unicodeScalars {
      guard count < 7, count == 3 ? scalar == "\u{2026}" : printable(scalar) == scalar else { return false }
      count += 1
    }
    return count == 7
  }

  private static func printable(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? "?" : scalar
  }
}
