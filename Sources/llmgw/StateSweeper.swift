import GatewayCore
import Logging
import Pipeline
import ServiceLifecycle
import Store

/// Housekeeping of the shared state, every `interval`: checkpoints budget spend and usage into
/// the durable environment (`SharedStateLayout`), clears reader slots left by crashed processes
/// (`mdb_reader_check`, which would otherwise keep LMDB from reusing pages), removes expired
/// cache entries (in small batches, so a write transaction stays short) and usage lines older
/// than `state.usage_retention`, and drops sidecar registry entries whose process is gone
/// (`LMDBSidecarRegistry.removeStale`). All of it on the state's own threads. A final checkpoint
/// runs at shutdown.
struct StateSweeper: Service {
    let layout: SharedStateLayout
    let cache: (any ResponseCacheBackend)?
    /// The store of Responses answers, swept like the cache.
    var responses: (any ResponseCacheBackend)? = nil
    /// The semantic cache's vectors, swept like the cache.
    var semantic: (any SemanticIndexBackend)? = nil
    let usageRetention: Duration
    let logger: Logger
    var interval: Duration = .seconds(10)

    func run() async throws {
        // The first sweep soon after start: stale readers of crashed predecessors go at once.
        var wait: Duration = .seconds(1)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let interval = wait
            wait = self.interval
            let slept: Void? = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard slept != nil else { break }
            await sweepOnce()
        }
        _ = try? await layout.checkpointSpend(nowMillis: SystemWallClock().nowMillis())
    }

    func sweepOnce() async {
        let executor = layout.volatile
        do {
            let now = SystemWallClock().nowMillis()
            try await layout.checkpointSpend(nowMillis: now)
            let cleared = try await executor.read { [executor] _ in try executor.environment.clearStaleReaders() }
            if cleared > 0 { logger.info("cleared stale LMDB readers", metadata: ["count": "\(cleared)"]) }
            let stale = try await LMDBSidecarRegistry(executor: executor).removeStale()
            if !stale.isEmpty {
                logger.info("removed stale sidecar entries", metadata: ["pids": "\(stale.map(\.pid))"])
            }
            for (name, store) in [("cache", cache), ("responses", responses)] {
                guard let store else { continue }
                var removed = 0
                for _ in 0..<20 {
                    let batch = try await store.sweepExpired(nowMillis: now, limit: 500)
                    removed += batch
                    if batch < 500 { break }
                }
                if removed > 0 {
                    logger.debug("expired entries removed", metadata: ["store": "\(name)", "count": "\(removed)"])
                }
            }
            if let semantic {
                var removed = 0
                for _ in 0..<20 {
                    let batch = try await semantic.sweepExpired(nowMillis: now, limit: 500)
                    removed += batch
                    if batch < 500 { break }
                }
                if removed > 0 {
                    logger.debug("expired entries removed", metadata: ["store": "semantic", "count": "\(removed)"])
                }
            }
            let cutoff = BudgetPeriod.day.identifier(atMillis: now.addingSaturating(-usageRetention.saturatingMillis))
            let pruned = try await LMDBAdmissionStore(executor: executor).pruneUsage(before: cutoff, limit: 1000)
            _ = try await layout.pruneCheckpoint(before: cutoff, limit: 1000)
            if pruned > 0 {
                logger.info("old usage lines removed", metadata: ["count": "\(pruned)", "before": "\(cutoff)"])
            }
        } catch {
            logger.warning("state sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
