/// What may reach a terminal from the file's clear fields. A hand-edited file or a hostile
/// `VAULT_USER` must not print escape sequences (ESC, CSI, OSC), move the cursor, fake table
/// rows (CR, LF) or reorder text (bidirectional controls).
public enum DisplaySafety {
  /// C0 controls, DEL, C1 controls, the line and paragraph separators, and the bidirectional
  /// marks, embeddings, overrides and isolates.
  public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0..<0x20, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: return true
    default: return false
    }
  }

  /// Whether `text` holds no unsafe scalar.
  public static func isClean(_ text: String) -> Bool {
    // Printable ASCII, the usual case, without decoding scalars.
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return true }
    return !text.unicodeScalars.contains(where: isUnsafe)
  }

  /// `text` with every unsafe scalar replaced by `?`.
  public static func sanitized(_ text: String) -> String {
    guard !isClean(text) else { return text }
    var view = String.UnicodeScalarView()
    for scalar in text.unicodeScalars { view.append(isUnsafe(scalar) ? "?" : scalar) }
    return String(view)
  }
}
