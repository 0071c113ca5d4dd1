import GatewayCore
import Testing

/// The `log:` section's file keys: `file` (unset means stdout) and `file_mode`.
@Suite struct LogConfigurationTests {
    @Test func theLogGoesToStdoutUnlessAFileIsNamed() throws {
        let unset = try GatewayConfiguration.parse(yaml: smallestConfiguration, source: "c.yaml").log
        #expect(unset.file == nil)
        #expect(unset.fileMode == 0o640)
        let set = try GatewayConfiguration.parse(
            yaml: smallestConfiguration + "\nlog: { file: /var/log/llmgw/llmgw.log, file_mode: \"0600\" }\n",
            source: "c.yaml"
        ).log
        #expect(set.file == "/var/log/llmgw/llmgw.log")
        #expect(set.fileMode == 0o600)
    }

    @Test(arguments: [
        ("log:\n  file: \"\"\n", "config.yaml:2: log.file: must not be empty"),
        ("log:\n  file: /var/log/llmgw/\n", "config.yaml:2: log.file: must name a file, not a directory"),
        (
            "log:\n  file_mode: \"0755\"\n",
            "config.yaml:2: log.file_mode: expected an octal file mode like \"0600\" or \"0660\" (owner rw, no execute bits)"
        ),
        (
            "log:\n  fil: /x\n",
            "config.yaml:2: log.fil: unknown key (expected one of: level, include_bodies, queue_bytes, core_dumps, "
                + "file, file_mode)"
        ),
    ])
    func problemsNameTheirKey(_ yaml: String, _ expected: String) {
        #expect(renderedErrors(yaml + smallestConfiguration) == expected)
    }
}
