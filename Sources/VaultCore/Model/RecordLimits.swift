/// How large a record may grow. The writer never passes these and the reader refuses a file
/// that does, before parsing the offending line, so a hand-edited file cannot make a listing
/// cost seconds and gigabytes (docs/FORMAT.md, "Limits").
public enum RecordLimits {
  /// A provider key's line: a 64 KiB value is about 87,500 bytes of base64, and 256 models of
  /// 128 bytes about 34,000 more, so 256 KiB leaves room and no more.
  public static let maximumKeyLineByteCount = 256 << 10
  /// Models linked to one provider key.
  public static let maximumModelsPerKey = 256
  /// Variable names (`--env`) of one provider key.
  public static let maximumEnvironmentNamesPerKey = 32
  /// Providers, and models, in one agent key's scope (each list on its own).
  public static let maximumScopeEntries = 256
}
