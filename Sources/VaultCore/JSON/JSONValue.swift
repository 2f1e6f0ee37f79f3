/// A parsed JSON value. Objects keep their members in file order, because the vault file's
/// layout is fixed and its readers report the first offending member.
public enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  /// An integer that fits in 64 bits, the only kind of number the vault file uses.
  case integer(Int64)
  /// Any other number, kept as its text so nothing is rounded; the vault file rejects it.
  case otherNumber(String)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)
}

/// A JSON object whose member names are unique (the parser rejects duplicates).
public struct JSONObject: Equatable, Sendable {
  public private(set) var members: [(name: String, value: JSONValue)]

  public init(_ members: [(name: String, value: JSONValue)] = []) {
    self.members = members
  }

  /// The value of member `name`, if present.
  public subscript(name: String) -> JSONValue? {
    members.first { $0.name == name }?.value
  }

  /// The member names in file order.
  public var names: [String] { members.map(\.name) }

  mutating func append(_ name: String, _ value: JSONValue) {
    members.append((name, value))
  }

  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.members.count == rhs.members.count
      && zip(lhs.members, rhs.members).allSatisfy { $0.name == $1.name && $0.value == $1.value }
  }
}
