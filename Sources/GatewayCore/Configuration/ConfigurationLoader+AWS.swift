/// The `kind: bedrock` keys of a provider (`region`, `aws_*`) and the `region` of regional presets.
extension ConfigurationLoader {
    static let awsKeys = ["region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_profile"]

    /// `region`, else the one in a `bedrock-runtime.{region}.amazonaws.com` base URL; refused on
    /// kinds that have no regions.
    static func awsRegion(
        _ reader: ConfigReader, kind: ProviderKind, preset: ProviderPreset?, baseURL: String?
    ) -> String? {
        let region = reader.string("region")
        if region != nil, kind != .bedrock, preset?.isRegional != true {
            reader.child("region")?.fail("region applies to kind bedrock and bedrock-openai only")
            return nil
        }
        if let region, !isRegionName(region) {
            reader.child("region")?.fail("expected an AWS region name such as us-east-1")
            return nil
        }
        if kind != .bedrock {
            for key in ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_profile"] {
                reader.child(key)?.fail("\(key) applies to kind bedrock only (bedrock-openai takes a Bedrock API key)")
            }
        }
        return region ?? baseURL.flatMap(AWSProviderConfiguration.region(inURL:))
    }

    /// The credential sources. A Bedrock API key (`api_key`) excludes them; a key id needs its secret.
    static func awsConfiguration(_ reader: ConfigReader, region: String?, hasAPIKey: Bool) -> AWSProviderConfiguration?
    {
        let credentialKeys = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_profile"]
        if hasAPIKey {
            for key in credentialKeys where reader.child(key) != nil {
                reader.child(key)?.fail("\(key) cannot be combined with api_key (a Bedrock API key is sent as Bearer)")
            }
        }
        func secret(_ key: String) -> SecretReference? {
            guard let text = reader.string(key), let child = reader.child(key) else { return nil }
            switch SecretReference(parsing: text) {
            case .environment(let variable) where variable.isEmpty:
                child.fail("env: needs a variable name")
                return nil
            case .file(let path) where path.isEmpty:
                child.fail("file: needs a path")
                return nil
            case let reference:
                return reference
            }
        }
        let id = secret("aws_access_key_id")
        let key = secret("aws_secret_access_key")
        let token = secret("aws_session_token")
        let profile = reader.string("aws_profile")
        if (id == nil) != (key == nil) {
            reader.require(id == nil ? "aws_access_key_id" : "aws_secret_access_key", hint: "the two go together")
            return nil
        }
        if token != nil, id == nil {
            reader.child("aws_session_token")?.fail("needs aws_access_key_id and aws_secret_access_key")
            return nil
        }
        if profile != nil, id != nil {
            reader.child("aws_profile")?.fail("cannot be combined with aws_access_key_id")
            return nil
        }
        guard let region else {
            // SigV4 needs the region even with a base_url that does not name one.
            if !hasAPIKey, reader.child("base_url") != nil {
                reader.require("region", hint: "SigV4 signs for a region; the base_url names none")
            }
            return hasAPIKey ? AWSProviderConfiguration(region: "us-east-1") : nil
        }
        return AWSProviderConfiguration(
            region: region, accessKeyID: id, secretAccessKey: key, sessionToken: token, profile: profile)
    }

    /// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lower-case letters, digits and dashes.
    static func isRegionName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 32 && !text.hasPrefix("-")
            && text.allSatisfy { ($0.isASCII && $0.isLetter && $0.isLowercase) || $0.isASCIIDigit || $0 == "-" }
    }
}
