import GatewayCore

/// Stage 2, identify: the caller (virtual key, declared peer caller, peer uid, or anonymous), checked against the
/// shared key store on every request so a revocation takes effect at once in every sidecar, and
/// whether its key may use the model it asks for.
struct IdentifyStage: Sendable {
    let authenticator: Authenticator
    let clock: any WallClock

    func identify(_ request: GatewayRequest) async throws(GatewayError) -> Authenticator.Identity {
        try await authenticator.identify(request, nowMillis: clock.nowMillis())
    }

    /// 403 when the caller (its key, or its `callers:` entry) may not use `model`.
    func authorize(model: String, for identity: Authenticator.Identity) throws(GatewayError) {
        guard let allowed = identity.allowedModels, !allowed.contains(model) else { return }
        throw GatewayError(
            .forbidden, "This \(identity.noun) is not allowed to use the model `\(model)`.", param: "model")
    }
}
