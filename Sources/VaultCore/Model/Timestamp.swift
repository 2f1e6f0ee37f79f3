#if canImport(Glibc)
  import Glibc
#endif

/// A point in time with one-second precision, written in the file as `YYYY-MM-DDTHH:MM:SSZ`
/// (RFC 3339, UTC). Whole seconds keep the text form exact and round-trippable.
///
/// Conversion is plain integer arithmetic on the proleptic Gregorian calendar (Howard
/// Hinnant's `days_from_civil`), not `gmtime`/`timegm`: a vault of 10,000 keys holds 20,000
/// timestamps, and libc's calls plus string formatting were a fifth of `vault list`'s time.
public struct Timestamp: Comparable, Hashable, Sendable {
  /// Seconds since 1970-01-01T00:00:00Z.
  public var secondsSinceEpoch: Int64

  public init(secondsSinceEpoch: Int64) {
    self.secondsSinceEpoch = secondsSinceEpoch
  }

  /// The current time, from the system clock.
  public static func now() -> Timestamp {
    Timestamp(secondsSinceEpoch: Int64(time(nil)))
  }

  public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
    lhs.secondsSinceEpoch < rhs.secondsSinceEpoch
  }

  /// The RFC 3339 UTC form, e.g. `2026-11-21T23:58:37Z`. Years outside 0...9999 are clamped,
  /// since the form has four digits.
  public var rfc3339: String {
    var text: [UInt8] = []
    appendRFC3339(to: &text)
    return String(decoding: text, as: UTF8.self)
  }

  /// Appends the RFC 3339 form to `bytes` (the vault writer's path: no intermediate String).
  func appendRFC3339(to bytes: inout [UInt8]) {
    let clamped = min(max(secondsSinceEpoch, Self.earliest), Self.latest)
    var days = clamped / 86_400
    var seconds = clamped % 86_400
    if seconds < 0 {
      seconds += 86_400
      days -= 1
    }
    let (year, month, day) = Self.civil(fromDays: days)
    // Digits appended in place: `list` and every save format thousands of these.
    func append(_ value: Int64, digits: Int, then separator: Unicode.Scalar) {
      var divisor: Int64 = 1
      for _ in 1..<digits { divisor *= 10 }
      while divisor > 0 {
        bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
        divisor /= 10
      }
      bytes.append(UInt8(ascii: separator))
    }
    append(year, digits: 4, then: "-")
    append(month, digits: 2, then: "-")
    append(day, digits: 2, then: "T")
    append(seconds / 3600, digits: 2, then: ":")
    append(seconds / 60 % 60, digits: 2, then: ":")
    append(seconds % 60, digits: 2, then: "Z")
  }

  /// The date part only, `YYYY-MM-DD`, for tables.
  public var day: String {
    var text: [UInt8] = []
    appendRFC3339(to: &text)
    return String(decoding: text[..<10], as: UTF8.self)
  }

  /// Parses exactly the form `rfc3339` writes; anything else (including 31 February) is nil.
  public init?(rfc3339 text: String) {
    var text = text
    guard let seconds = text.withUTF8({ Self.parse($0) }) else { return nil }
    self.init(secondsSinceEpoch: seconds)
  }

  static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
      bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
      bytes[19] == UInt8(ascii: "Z")
    else { return nil }
    // The 14 digits in one pass, the OR of their values checked once (any non-digit byte gives
    // a value above 9): every key line holds two timestamps.
    var seen: UInt8 = 0
    func digit(_ index: Int) -> Int64 {
      let value = bytes[index] &- UInt8(ascii: "0")
      seen |= value > 9 ? 0x80 : 0
      return Int64(value)
    }
    let year = ((digit(0) * 10 + digit(1)) * 10 + digit(2)) * 10 + digit(3)
    let month = digit(5) * 10 + digit(6)
    let day = digit(8) * 10 + digit(9)
    let hour = digit(11) * 10 + digit(12)
    let minute = digit(14) * 10 + digit(15)
    let second = digit(17) * 10 + digit(18)
    guard seen == 0, (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour < 24,
      minute < 60, second < 60
    else { return nil }
    return days(fromCivilYear: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
  }

  private static let earliest: Int64 = -62_167_219_200  // 0000-01-01T00:00:00Z
  private static let latest: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

  private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date.
  private static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
    let shiftedYear = month <= 2 ? year - 1 : year
    let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
    let yearOfEra = shiftedYear - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  /// The proleptic Gregorian date `days` after 1970-01-01.
  private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }
}
