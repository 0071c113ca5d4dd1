import GatewayCore
import Logging
import Pipeline
import ServiceLifecycle
import Store

/// Housekeeping of the shared state, every `interval`: removes expired cache entries (in small
/// batches, so a write transaction stays short) and clears reader slots left by crashed
/// processes (`mdb_reader_check`), which would otherwise keep LMDB from reusing pages.
struct StateSweeper: Service {
    let environment: LMDBEnvironment
    let cache: (any ResponseCacheBackend)?
    let logger: Logger
    var interval: Duration = .seconds(30)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let interval = self.interval
            let slept: Void? = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard slept != nil else { return }
            sweepOnce()
        }
    }

    func sweepOnce() {
        do {
            let cleared = try environment.clearStaleReaders()
            if cleared > 0 { logger.info("cleared stale LMDB readers", metadata: ["count": "\(cleared)"]) }
            var removed = 0
            if let cache {
                let now = Int64(Timestamp.epochMillis())
                for _ in 0..<20 {
                    let batch = try cache.sweepExpired(nowMillis: now, limit: 500)
                    removed += batch
                    if batch < 500 { break }
                }
            }
            if removed > 0 { logger.debug("expired cache entries removed", metadata: ["count": "\(removed)"]) }
        } catch {
            logger.warning("state sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
