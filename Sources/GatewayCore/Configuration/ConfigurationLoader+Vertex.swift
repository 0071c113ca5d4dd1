extension ConfigurationLoader {
    /// The keys only `kind: vertex` takes.
    static let vertexKeys = [
        "project", "location", "publisher", "credentials_file", "metadata_server", "access_token", "token_url",
    ]

    /// `kind: vertex`: exactly one credential (`credentials_file`, `metadata_server`, `access_token`
    /// or `api_key`), a `project` unless the credential is an API key (express mode), a `location`
    /// (default `global`) and an optional `publisher`. `base_url` defaults to the location's host;
    /// `api_version` is `v1` (default) or `v1beta1`.
    static func vertexProvider(
        named name: String, _ reader: ConfigReader, _ parsed: ProviderConfiguration
    ) -> ProviderConfiguration? {
        if reader.has("raw_stream") {
            reader.child("raw_stream")?.fail(
                "raw_stream applies to kind azure only (other streams pass through as sent)")
        }
        let credentialKeys = ["credentials_file", "metadata_server", "access_token", "api_key"]
        let given = credentialKeys.filter(reader.has)
        if given.count != 1 {
            let message =
                given.isEmpty
                ? "required: one of credentials_file, metadata_server, access_token, api_key"
                : "only one credential may be given (found: \(given.joined(separator: ", ")))"
            reader.fail(message)
        }
        var provider = parsed
        let credentials: VertexConfiguration.Credentials?
        switch given.first {
        case "credentials_file":
            // Read (and re-read on SIGHUP) by the secret resolver, like a key file; never logged.
            provider.apiKey = reader.string("credentials_file").map(SecretReference.file)
            let tokenURL = reader.value(
                "token_url", expected: "an http:// or https:// URL with a host", ConfigurationValue.baseURL)
            credentials = .serviceAccount(tokenURL: tokenURL)
        case "metadata_server":
            let server = reader.value("metadata_server", expected: "true or the server's http:// base URL") { text in
                ["true", "yes", "on"].contains(text)
                    ? VertexConfiguration.defaultMetadataServer
                    : ConfigurationValue.baseURL(text)
            }
            credentials = server.map { .metadataServer(baseURL: $0) }
        case "access_token":
            provider.apiKey = reader.string("access_token").flatMap {
                secretReference($0, reader.child("access_token")!)
            }
            credentials = .accessToken
        case "api_key":
            credentials = .apiKey
        default:
            credentials = nil
        }
        if reader.has("token_url"), given.first != "credentials_file" {
            reader.child("token_url")?.fail("token_url applies to credentials_file only")
        }
        let express = credentials == .apiKey
        let project = reader.string("project")
        if let project, !VertexConfiguration.isPathName(project) {
            reader.child("project")?.fail("expected a project id or number (letters, digits and '-')")
        }
        if project == nil, !express, credentials != nil {
            reader.require(
                "project", hint: "the Google Cloud project id or number; only api_key (express mode) has none")
        }
        let location = reader.string("location") ?? VertexConfiguration.defaultLocation
        if !VertexConfiguration.isPathName(location) {
            reader.child("location")?.fail("expected a location such as global, us-central1 or europe-west1")
        }
        let apiVersion = parsed.apiVersion ?? VertexConfiguration.defaultAPIVersion
        if !VertexConfiguration.apiVersions.contains(apiVersion) {
            reader.child("api_version")?.fail(
                "unknown value \"\(apiVersion)\" (expected one of: \(VertexConfiguration.apiVersions.joined(separator: ", ")))"
            )
        }
        let publisher = reader.choice("publisher", as: VertexConfiguration.Publisher.self)
        guard let credentials, project != nil || express, VertexConfiguration.isPathName(location),
            project.map(VertexConfiguration.isPathName) ?? true, VertexConfiguration.apiVersions.contains(apiVersion)
        else { return nil }
        if provider.baseURL.isEmpty {
            provider.baseURL = VertexConfiguration.defaultBaseURL(location: location, express: express)
        }
        provider.apiVersion = nil
        provider.vertex = VertexConfiguration(
            project: express ? nil : project, location: location, apiVersion: apiVersion, publisher: publisher,
            credentials: credentials)
        return provider
    }

    /// The vertex keys on another kind are errors, not silently ignored.
    static func rejectVertexKeys(_ reader: ConfigReader, kind: ProviderKind) {
        for key in vertexKeys where reader.has(key) {
            reader.child(key)?.fail("\(key) applies to kind vertex only")
        }
    }
}
