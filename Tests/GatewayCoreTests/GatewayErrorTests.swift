import GatewayCore
import Testing

@Suite struct GatewayErrorTests {
    @Test func openAIBodyIsExact() {
        let error = GatewayError(.notFound, "model \"smrt\" does not exist", param: "model")
        #expect(
            String(decoding: error.openAIBody, as: UTF8.self)
                == #"{"error":{"message":"model \"smrt\" does not exist","type":"invalid_request_error","#
                + #""param":"model","code":"model_not_found"}}"#)
        #expect(error.status == 404)
    }

    @Test func nullParamAndCodeAreWrittenAsNull() {
        let error = GatewayError(.badRequest, "messages: required")
        #expect(
            String(decoding: error.openAIBody, as: UTF8.self)
                == #"{"error":{"message":"messages: required","type":"invalid_request_error","param":null,"code":null}}"#
        )
    }

    @Test(arguments: [
        GatewayError.Code.badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .payloadTooLarge,
        .rateLimited, .budgetExceeded, .upstreamError, .timeout, .unavailable, .internalError,
    ])
    func everyBodyHasAllFourKeysInOrder(_ code: GatewayError.Code) {
        let body = String(decoding: GatewayError(code, "m").openAIBody, as: UTF8.self)
        #expect(body.hasPrefix(#"{"error":{"message":"m","type":""#))
        let positions = ["\"message\":", "\"type\":", "\"param\":", "\"code\":"].map { body.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(body.hasSuffix("}}"))
    }

    @Test func statusesFollowTheDesign() {
        let statuses: [(GatewayError.Code, Int)] = [
            (.badRequest, 400), (.unauthorized, 401), (.forbidden, 403), (.notFound, 404), (.payloadTooLarge, 413),
            (.rateLimited, 429), (.budgetExceeded, 429), (.upstreamError, 502), (.timeout, 504),
        ]
        for (code, status) in statuses {
            #expect(GatewayError(code, "m").status == status, "\(code)")
        }
    }
}
