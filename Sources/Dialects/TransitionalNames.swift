// Transitional: removed when Pipeline is renamed
public typealias OpenAIPassthrough = RequestInspection
// Transitional: removed when Pipeline is renamed
public typealias OpenAIRequestSummary = RequestSummary
