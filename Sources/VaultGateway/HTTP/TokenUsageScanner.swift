import Glibc

/// Finds the token counts in a provider's response body as it streams past, holding only a
/// few words of state (never the body): JSON or SSE, split anywhere, chunked framing already
/// removed.
///
/// It looks for a JSON member named `prompt_tokens`, `input_tokens` or `promptTokenCount`
/// (input) or `completion_tokens`, `output_tokens` or `candidatesTokenCount` (output), then
/// optional whitespace, `:`, optional whitespace and a non-negative integer (saturating). The
/// last value of each wins: Anthropic's `message_delta` and Google's stream chunks repeat the
/// running totals. The opening quote must not follow a backslash, so a name quoted inside a
/// string (which JSON escapes as `\"prompt_tokens\"`) is not counted. This is a scanner, not a
/// JSON parser: a non-integer value (`null`, `-1`, `"7"`) is skipped, and a number is taken up
/// to its first non-digit.
public struct TokenUsageScanner: Sendable {
  private enum Phase: Sendable {
    case outside, name, afterName, afterColon, number
  }

  private static let names: [[UInt8]] = [
    "prompt_tokens", "input_tokens", "promptTokenCount",
    "completion_tokens", "output_tokens", "candidatesTokenCount",
  ].map { Array($0.utf8) }
  private static let allNames: UInt8 = 0b11_1111
  private static let quote: UInt8 = 0x22
  private static let backslash: UInt8 = 0x5C

  private var phase = Phase.outside
  /// The last byte fed, for the backslash rule across calls.
  private var previous: UInt8 = 0
  /// Bytes of the member name matched so far, and which names still match them (bit i: names[i]).
  private var nameLength = 0
  private var candidates: UInt8 = 0
  private var matched = 0
  private var number = 0
  private var input: Int?
  private var output: Int?

  public init() {}

  /// The last input count seen (including one whose digits may continue in the next feed).
  public var inputTokens: Int? { phase == .number && matched < 3 ? number : input }
  /// The last output count seen (including one whose digits may continue in the next feed).
  public var outputTokens: Int? { phase == .number && matched >= 3 ? number : output }

  public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    let count = bytes.count
    var index = 0
    while index < count {
      let byte = bytes[index]
      switch phase {
      case .outside:
        guard let found = memchr(base + index, Int32(Self.quote), count - index) else {
          index = count
          break
        }
        let quote = base.distance(to: UnsafeRawPointer(found))
        let before = quote > 0 ? bytes[quote - 1] : previous
        index = quote + 1
        if before != Self.backslash {
          phase = .name
          nameLength = 0
          candidates = Self.allNames
        }
      case .name:
        if byte == Self.quote {
          if let name = matchedName() {
            matched = name
            phase = .afterName
            index += 1
          } else {
            phase = .outside  // this quote may open the next string: look at it again
          }
          continue
        }
        var still: UInt8 = 0
        for name in 0..<Self.names.count where candidates & (1 << name) != 0 {
          let spelling = Self.names[name]
          if nameLength < spelling.count && spelling[nameLength] == byte { still |= 1 << name }
        }
        candidates = still
        nameLength += 1
        index += 1
        if still == 0 { phase = .outside }
      case .afterName, .afterColon:
        if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
          index += 1
        } else if byte == 0x3A && phase == .afterName {
          phase = .afterColon
          index += 1
        } else if HTTPSyntax.isDigit(byte) && phase == .afterColon {
          number = Int(byte &- 0x30)
          phase = .number
          index += 1
        } else {
          phase = .outside  // look at this byte again: it may be a quote
        }
      case .number:
        if HTTPSyntax.isDigit(byte) {
          let digit = Int(byte &- 0x30)
          number = number <= (Int.max - digit) / 10 ? number * 10 + digit : Int.max
          index += 1
        } else {
          commit()
          phase = .outside
        }
      }
    }
    previous = bytes[count - 1]
  }

  private func matchedName() -> Int? {
    for name in 0..<Self.names.count where candidates & (1 << name) != 0 && Self.names[name].count == nameLength {
      return name
    }
    return nil
  }

  private mutating func commit() {
    if matched < 3 { input = number } else { output = number }
  }
}
