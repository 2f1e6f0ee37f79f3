#if canImport(Glibc)
  import Glibc
#endif

/// How the passphrase reaches `vault`: the files named by variables, and the variables that hold
/// a passphrase themselves. Paths named by a variable are never echoed: a passphrase pasted
/// into the variable by mistake would land on the terminal and in CI logs.
enum CredentialChecks {
  /// `VAULT_PASSPHRASE_FILE` and `VAULT_NEW_PASSPHRASE_FILE`: a regular file of this user that
  /// group and others cannot open (as ssh expects of a private key).
  static let files = DoctorCheck(name: "passphrase-files") { subject in
    [CredentialVariable.passphraseFile, .newPassphraseFile].compactMap { variable in
      guard let path = subject.environment[variable.name], !path.isEmpty else { return nil }
      let named = "the file named by \(variable.name)"
      let problem: (String, String)?
      if let status = SystemCalls.pathStatus(path) {
        if !SystemCalls.isRegular(status) {
          problem = ("\(named) is not a regular file", "point \(variable.name) at a file holding only the passphrase")
        } else if status.st_uid != geteuid() {
          problem = ("\(named) belongs to another user", "keep the passphrase in a file of your own, mode 600")
        } else if status.st_mode & 0o077 != 0 {
          problem = (
            "\(named) is accessible by group or others (mode \(FileChecks.octal(status.st_mode & 0o777))); it holds the passphrase",
            "chmod 600 \"$\(variable.name)\""
          )
        } else {
          problem = nil
        }
      } else {
        problem = (
          "\(named) cannot be read: \(SystemCalls.describe(errno))", "set \(variable.name) to a 0600 file, or unset it"
        )
      }
      return problem.map {
        DoctorFinding(check: "passphrase-file", subject: variable.name, message: $0.0, fix: $0.1)
      }
    }
  }

  /// `VAULT_PASSPHRASE` and `VAULT_NEW_PASSPHRASE` in the environment: every process of the
  /// same user can read it in /proc/<pid>/environ, every child inherits it unless `vault` starts
  /// the child, and it is usually set in a shell's rc file or history.
  static let variables = DoctorCheck(name: "passphrase-variables") { subject in
    [(CredentialVariable.passphrase, CredentialVariable.passphraseFile), (.newPassphrase, .newPassphraseFile)]
      .compactMap { variable, file in
        let set =
          subject.credentialVariablesSet.contains(variable) || !(subject.environment[variable.name] ?? "").isEmpty
        guard set else { return nil }
        return DoctorFinding(
          check: "passphrase-variable", subject: variable.name,
          message:
            "\(variable.name) is set: the passphrase is readable in /proc/<pid>/environ by your other processes, inherited by children, and often kept in shell rc files or history",
          fix:
            "unset \(variable.name) and put the passphrase in a 0600 file named by \(file.name), or type it at the prompt"
        )
      }
  }

  /// The identity files a team vault is opened with (`VAULT_IDENTITY`, the default file): each
  /// holds a member's private key, so group and others must not open it. An absent default file
  /// is fine (a personal vault needs none).
  static let identityFiles = DoctorCheck(name: "identity-files") { subject in
    var paths: [(path: String, subject: String)] = []
    if let named = subject.environment[IdentityLocation.variable], !named.isEmpty {
      paths.append((named, IdentityLocation.variable))
    }
    let standard = IdentityLocation.defaultPath(environment: subject.environment)
    if SystemCalls.pathStatus(standard, followLinks: false) != nil, !paths.contains(where: { $0.path == standard }) {
      paths.append((standard, standard))
    }
    return paths.compactMap { path, named in
      guard let status = SystemCalls.pathStatus(path) else {
        return DoctorFinding(
          check: "identity-file", subject: named, message: "the identity file \(named) cannot be read",
          fix: "point \(IdentityLocation.variable) at your identity file ('vault identity new' makes one)")
      }
      if !SystemCalls.isRegular(status) || status.st_uid != geteuid() {
        return DoctorFinding(
          check: "identity-file", subject: named,
          message: "the identity file \(named) is not a regular file of your own",
          fix: "keep your identity in a file of your own, mode 600")
      }
      guard status.st_mode & 0o077 != 0 else { return nil }
      return DoctorFinding(
        check: "identity-file", subject: named,
        message:
          "the identity file \(named) is accessible by group or others (mode \(FileChecks.octal(status.st_mode & 0o777))); it holds your private key",
        fix: "chmod 600 it")
    }
  }
}
