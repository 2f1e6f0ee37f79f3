/// One header field line as received: the name keeps the sender's case (compare it
/// case-insensitively), the value is trimmed of leading and trailing SP and HTAB.
public struct HTTPHeader: Sendable, Equatable {
  public var name: String
  public var value: String

  public init(name: String, value: String) {
    self.name = name
    self.value = value
  }
}

extension [HTTPHeader] {
  /// The value of the first field named `name`, compared ASCII case-insensitively.
  func firstValue(named name: String) -> String? {
    for header in self where HTTPSyntax.equalsIgnoringCase(header.name, name) { return header.value }
    return nil
  }
}
