/// Where a `kind: bedrock` provider's AWS credentials come from (see `AWSProviderConfiguration`),
/// resolved at start and on SIGHUP like every provider key. Errors name the config path, the
/// variable, the file or the profile, never a value.
extension SecretResolver {
    public func resolveAWSCredentials(
        _ aws: AWSProviderConfiguration, path: String
    ) throws(ConfigurationError) -> AWSCredentials {
        if let idReference = aws.accessKeyID, let secretReference = aws.secretAccessKey {
            let id = try resolve(idReference, path: path + ".aws_access_key_id")
            let secret = try resolve(secretReference, path: path + ".aws_secret_access_key")
            let token = try aws.sessionToken.map { (reference) throws(ConfigurationError) in
                try resolve(reference, path: path + ".aws_session_token")
            }
            return AWSCredentials(
                accessKeyID: id.revealed, secretAccessKey: secret.revealed, sessionToken: token?.revealed)
        }
        if aws.profile == nil, let id = nonEmpty("AWS_ACCESS_KEY_ID"), let secret = nonEmpty("AWS_SECRET_ACCESS_KEY") {
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN"))
        }
        let profile = aws.profile ?? nonEmpty("AWS_PROFILE") ?? "default"
        let file = sharedCredentialsFile()
        guard let file else {
            throw ConfigurationError(
                path: path, line: nil,
                message: "no AWS credentials: set aws_access_key_id and aws_secret_access_key, api_key, "
                    + "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a shared credentials file")
        }
        guard let text = readFile(file) else {
            throw ConfigurationError(
                path: path, line: nil,
                message: "no AWS credentials: cannot read the shared credentials file \(file) (profile \(profile))")
        }
        let values = AWSSharedCredentialsFile.profile(profile, in: text)
        guard let values, let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"],
            !id.isEmpty, !secret.isEmpty
        else {
            throw ConfigurationError(
                path: path, line: nil,
                message: "no AWS credentials: profile \(profile) of \(file) has no aws_access_key_id "
                    + "and aws_secret_access_key")
        }
        return AWSCredentials(
            accessKeyID: id, secretAccessKey: secret,
            sessionToken: values["aws_session_token"] ?? values["aws_security_token"])
    }

    private func nonEmpty(_ name: String) -> String? {
        guard let value = environment(name), !value.isEmpty else { return nil }
        return value
    }

    /// `AWS_SHARED_CREDENTIALS_FILE`, else `$HOME/.aws/credentials`.
    private func sharedCredentialsFile() -> String? {
        if let file = nonEmpty("AWS_SHARED_CREDENTIALS_FILE") {
            if file.hasPrefix("~/"), let home = nonEmpty("HOME") { return home + file.dropFirst() }
            return file
        }
        return nonEmpty("HOME").map { $0 + "/.aws/credentials" }
    }
}

/// The INI format of `~/.aws/credentials`: `[profile]` sections of `key = value` lines; `#` and
/// `;` start comment lines.
enum AWSSharedCredentialsFile {
    /// The keys of `profile` (lower-cased names, trimmed values); nil when there is no such section.
    static func profile(_ profile: String, in text: String) -> [String: String]? {
        var current: String?
        var found: [String: String]?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = String(rawLine).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingWhitespace()
                if current == profile, found == nil { found = [:] }
                continue
            }
            guard current == profile, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmingWhitespace().lowercased()
            let value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            found?[key] = value
        }
        return found
    }
}
