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

/// One `"name": value` pair of an object.
public struct JSONMember: Equatable, Sendable {
  public var name: String
  public var value: JSONValue
}

/// A JSON object whose member names are unique (the parser rejects duplicates).
public struct JSONObject: Equatable, Sendable {
  // An array of structs, not of tuples: tuple arrays cost a runtime metadata lookup each, which
  // was a tenth of reading a 10,000-key vault.
  public private(set) var members: [JSONMember]

  public init(_ members: [JSONMember] = []) {
    self.members = members
  }

  /// The value of member `name`, if present.
  public subscript(name: String) -> JSONValue? {
    members.first { $0.name == name }?.value
  }

  /// The member names in file order.
  public var names: [String] { members.map(\.name) }

  mutating func append(_ name: String, _ value: JSONValue) {
    members.append(JSONMember(name: name, value: value))
  }

}
