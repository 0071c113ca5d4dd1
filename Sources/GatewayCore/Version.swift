/// The version of llmgw: what `llmgw --version` prints, `llmgw_build_info` reports and each
/// sidecar records in the shared state's registry. The one place to change it.
public enum LLMGWVersion {
    public static let current = "0.1.0"
}
