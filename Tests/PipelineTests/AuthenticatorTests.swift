import GatewayCore
import Testing

@testable import Pipeline

@Suite struct AuthenticatorTests {
    private func request(uid: UInt32, gid: UInt32) -> GatewayRequest {
        GatewayRequest(
            method: "POST", path: "/v1/chat/completions", headers: [], body: [],
            peer: PeerCredentials(pid: 1, uid: uid, gid: gid))
    }

    private func authenticator(uids: [UInt32] = [], gids: [UInt32] = []) -> Authenticator {
        var configuration = AuthConfiguration(mode: .peer)
        configuration.peerAllowedUIDs = uids
        configuration.peerAllowedGIDs = gids
        return Authenticator(configuration: configuration, keys: nil)
    }

    @Test func peerModeWithoutAllowListsIdentifiesEveryPeer() async throws {
        let identity = try await authenticator().identify(request(uid: 1234, gid: 99), nowMillis: 0)
        #expect(identity.caller == "peer:uid=1234")
    }

    @Test func aUIDOrAGIDOnTheListIsServed() async throws {
        let byUID = authenticator(uids: [1000], gids: [50])
        #expect(try await byUID.identify(request(uid: 1000, gid: 1), nowMillis: 0).caller == "peer:uid=1000")
        #expect(try await byUID.identify(request(uid: 7, gid: 50), nowMillis: 0).caller == "peer:uid=7")
    }

    @Test func othersGet403() async {
        let gate = authenticator(uids: [1000], gids: [50])
        await #expect(throws: GatewayError.self) { try await gate.identify(request(uid: 1001, gid: 51), nowMillis: 0) }
        do {
            _ = try await gate.identify(request(uid: 1001, gid: 51), nowMillis: 0)
        } catch {
            #expect(error.status == 403)
        }
    }

    @Test func aCallerWithoutCredentialsIs401() async {
        let noPeer = GatewayRequest(method: "POST", path: "/v1/chat/completions", headers: [], body: [])
        do {
            _ = try await authenticator(uids: [0]).identify(noPeer, nowMillis: 0)
            Issue.record("a TCP caller passed peer authentication")
        } catch {
            #expect(error.status == 401)
        }
    }
}
