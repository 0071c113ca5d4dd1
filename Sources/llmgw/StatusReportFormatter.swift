import GatewayCore
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw status` output: `json()` (field names in docs/operating.md) and `text()` (aligned
/// columns for a terminal). Key ids and names only: a report holds no secret to print.
struct StatusReportFormatter {
    let report: StatusReport

    func json() -> String {
        var writer = JSONWriter(capacity: 4096)
        writer.object { json in
            json.field("version", LLMGWVersion.current)
            json.field("now", rfc3339(report.nowMillis))
            json.key("state")
            json.object { json in
                json.field("path", report.statePath)
                json.key("volatile")
                Self.write(report.volatile, &json)
                json.key("durable")
                Self.write(report.durable, &json)
            }
            json.key("sidecars")
            json.array { json in for record in report.alive { Self.write(record, &json) } }
            json.key("stale_sidecars")
            json.array { json in for record in report.stale { Self.write(record, &json) } }
            json.key("circuits")
            json.array { json in
                for circuit in report.circuits {
                    json.object { json in
                        json.field("target", circuit.target)
                        json.field("state", circuit.state)
                        json.field("failures", Int(circuit.failures))
                        json.field("open_until", circuit.openUntilMillis.map(rfc3339))
                        json.field("last_failure", circuit.lastFailureMillis.map(rfc3339))
                        json.field("probing", circuit.probing)
                    }
                }
            }
            json.key("today")
            json.object { json in
                json.field("day", report.day)
                json.key("callers")
                json.array { json in
                    for caller in report.callers {
                        json.object { json in
                            json.field("caller", caller.caller)
                            json.field("key_id", caller.id)
                            json.field("name", caller.name)
                            json.field("team", caller.team)
                            Self.write(caller.spend, &json)
                        }
                    }
                }
                json.key("teams")
                json.array { json in
                    for (team, spend) in report.teams {
                        json.object { json in
                            json.field("team", team)
                            Self.write(spend, &json)
                        }
                    }
                }
            }
            json.key("budgets")
            json.array { json in
                for line in report.budgets {
                    json.object { json in
                        json.field("scope", line.scope)
                        json.field("name", line.name)
                        json.field("period", line.budget.period.rawValue)
                        json.field("period_id", line.periodID)
                        json.field("budget_usd", line.budget.usd, decimals: 6)
                        json.field("spent_usd", Double(line.spentMicroUSD) / 1_000_000, decimals: 6)
                        json.field("remaining_usd", report.remaining(line), decimals: 6)
                    }
                }
            }
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private static func write(_ environment: StatusReport.Environment, _ json: inout JSONWriter) {
        json.object { json in
            json.field("path", environment.path)
            json.field("map_size_bytes", environment.mapSizeBytes)
            json.field("map_used_bytes", environment.mapUsedBytes)
            json.key("databases")
            json.object { json in for (name, entries) in environment.databases { json.field(name, entries) } }
        }
    }

    private static func write(_ record: SidecarRecord, _ json: inout JSONWriter) {
        json.object { json in
            json.field("pid", Int(record.pid))
            json.field("pid_namespace", record.pidNamespace)
            json.field("host", record.host)
            json.field("version", record.version)
            json.field("started_at", rfc3339(record.startedAtMillis))
            json.field("config", record.configPath)
            json.field("socket", record.socketPath)
            json.field("tcp", record.tcp)
            json.field("supervised", record.supervised)
        }
    }

    private static func write(_ spend: StatusReport.Spend, _ json: inout JSONWriter) {
        json.field("requests", Int(spend.requests))
        json.field("prompt_tokens", Int(spend.promptTokens))
        json.field("completion_tokens", Int(spend.completionTokens))
        json.field("cost_usd", Double(spend.microUSD) / 1_000_000, decimals: 6)
    }

    func text() -> String {
        var out: [String] = []
        out.append("state \(report.statePath)")
        for environment in [report.volatile, report.durable] {
            let entries = environment.databases.map { "\($0.name)=\($0.entries)" }.joined(separator: " ")
            out.append(
                "  \(environment.path): map \(mebibytes(environment.mapUsedBytes)) used of "
                    + "\(mebibytes(environment.mapSizeBytes)); entries \(entries)")
        }
        out.append("")
        out.append("sidecars alive: \(report.alive.count)")
        out.append("  PID      NAMESPACE             HOST                 VERSION  STARTED                   SOCKET")
        for record in report.alive { out.append("  " + sidecarLine(record)) }
        out.append("sidecars stale (process gone, entry left behind): \(report.stale.count)")
        for record in report.stale { out.append("  " + sidecarLine(record)) }
        out.append("")
        out.append("circuits")
        out.append("  TARGET                             STATE      FAILURES  OPEN_UNTIL                LAST_FAILURE")
        for circuit in report.circuits {
            out.append(
                "  "
                    + [
                        pad(circuit.target, 34), pad(circuit.state + (circuit.probing ? "*" : ""), 10),
                        pad(String(circuit.failures), 9), pad(circuit.openUntilMillis.map(rfc3339) ?? "-", 25),
                        circuit.lastFailureMillis.map(rfc3339) ?? "-",
                    ].joined(separator: " "))
        }
        out.append("")
        out.append("today (\(report.day), UTC)")
        out.append(
            "  CALLER                 NAME                 TEAM         REQUESTS   PROMPT   COMPLETION   COST_USD")
        for caller in report.callers {
            out.append(
                "  " + pad(caller.caller, 22) + " " + pad(caller.name ?? "-", 20) + " " + pad(caller.team ?? "-", 12)
                    + " " + spendColumns(caller.spend))
        }
        out.append(
            "  TEAM                                                     REQUESTS   PROMPT   COMPLETION   COST_USD")
        for (team, spend) in report.teams { out.append("  " + pad(team, 56) + " " + spendColumns(spend)) }
        out.append("")
        out.append("budgets")
        out.append("  SCOPE                  NAME                 PERIOD       BUDGET_USD   SPENT_USD    REMAINING_USD")
        for line in report.budgets {
            out.append(
                "  "
                    + [
                        pad(line.scope, 22), pad(line.name, 20), pad(line.periodID, 12),
                        pad(usd(line.budget.usd), 12), pad(usd(Double(line.spentMicroUSD) / 1_000_000), 12),
                        usd(report.remaining(line)),
                    ].joined(separator: " "))
        }
        return out.joined(separator: "\n")
    }

    private func sidecarLine(_ record: SidecarRecord) -> String {
        [
            pad(String(record.pid), 8), pad(record.pidNamespace, 21), pad(record.host, 20), pad(record.version, 8),
            pad(rfc3339(record.startedAtMillis), 25), record.socketPath,
        ].joined(separator: " ")
    }

    private func spendColumns(_ spend: StatusReport.Spend) -> String {
        [
            pad(String(spend.requests), 10), pad(String(spend.promptTokens), 8),
            pad(String(spend.completionTokens), 12),
            usd(Double(spend.microUSD) / 1_000_000),
        ].joined(separator: " ")
    }

    private func usd(_ value: Double) -> String {
        var writer = JSONWriter()
        writer.double(value, decimals: 6)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private func mebibytes(_ bytes: Int) -> String {
        var writer = JSONWriter()
        writer.double(Double(bytes) / 1_048_576, decimals: 1)
        return String(decoding: writer.bytes, as: UTF8.self) + " MiB"
    }
}

/// `2026-12-03T05:30:00.123Z` for epoch milliseconds (UTC).
func rfc3339(_ millis: Int64) -> String {
    var seconds = time_t(millis / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
        + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
        + "\(pad(Int(millis % 1000), 3))Z"
}
