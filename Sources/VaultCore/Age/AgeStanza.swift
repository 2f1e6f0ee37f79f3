/// One recipient stanza of an age header: `-> type arguments...` and a binary body (written as
/// base64 wrapped at 64 columns). A stanza holds no secret: its body is the file key sealed
/// for one recipient.
public struct AgeStanza: Equatable, Sendable {
  /// The first argument, which says who may open the stanza (`X25519`, `scrypt`, ...).
  public var type: String
  /// The arguments after the type.
  public var arguments: [String]
  /// The decoded body.
  public var body: [UInt8]

  public init(type: String, arguments: [String], body: [UInt8]) {
    self.type = type
    self.arguments = arguments
    self.body = body
  }

  /// Whether `argument` may appear in a stanza line: one or more of VCHAR (33 to 126).
  static func isValidArgument<Text: Collection>(_ argument: Text) -> Bool where Text.Element == UInt8 {
    !argument.isEmpty && argument.allSatisfy { (33...126).contains($0) }
  }
}
