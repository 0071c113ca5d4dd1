import Foundation
import GatewayCore
import Testing
import Yams

/// `deploy/k8s/*.yaml`: every document parses, the embedded gateway configuration loads, and the
/// pod wiring agrees with it (socket, state, keys, probes, resources), with no secret in sight.
struct KubernetesManifestTests {
    typealias Object = [String: Any]

    static let manifests = ["deploy/k8s/sidecar.yaml", "deploy/k8s/daemonset.yaml"]

    private func documents(_ path: String) throws -> [Object] {
        let sequence = try Yams.load_all(yaml: try DeployFiles.text(path))
        var documents: [Object] = []
        for document in sequence {
            documents.append(try #require(document as? Object, "\(path): a document is not a mapping"))
        }
        return documents
    }

    private func object(_ value: Any?, _ keys: String...) -> Object? {
        var current = value
        for key in keys { current = (current as? Object)?[key] }
        return current as? Object
    }

    private func list(_ value: Any?) -> [Object] { (value as? [Any])?.compactMap { $0 as? Object } ?? [] }

    /// The pod template of the workload named `name` of kind `kind`.
    private func podSpec(_ documents: [Object], kind: String, name: String) throws -> Object {
        let workload = try #require(
            documents.first { $0["kind"] as? String == kind && object($0, "metadata")?["name"] as? String == name })
        return try #require(object(workload, "spec", "template", "spec"))
    }

    /// The gateway configuration in the `llmgw-config` ConfigMap.
    private func gatewayConfiguration(_ documents: [Object], _ path: String) throws -> GatewayConfiguration {
        let map = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let yaml = try #require(object(map, "data")?["llmgw.yaml"] as? String)
        do {
            return try GatewayConfiguration.parse(yaml: yaml, source: path + " (ConfigMap llmgw-config)")
        } catch {
            Issue.record("\(error)")
            throw error
        }
    }

    /// Bytes of a Kubernetes quantity like `64Mi` or `256M`.
    private func bytes(_ quantity: String?) -> Int? {
        guard let quantity else { return nil }
        let units: [(String, Int)] = [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("M", 1_000_000)]
        for (suffix, factor) in units where quantity.hasSuffix(suffix) {
            return Int(quantity.dropLast(suffix.count)).map { $0 * factor }
        }
        return Int(quantity)
    }

    @Test(arguments: manifests) func everyDocumentIsAKubernetesObject(_ path: String) throws {
        let documents = try documents(path)
        #expect(!documents.isEmpty)
        for document in documents {
            #expect(document["apiVersion"] is String, "\(path): \(document)")
            #expect(document["kind"] is String, "\(path): \(document)")
            #expect(object(document, "metadata")?["name"] is String, "\(path): \(document)")
        }
    }

    @Test(arguments: manifests) func theGatewayContainerMatchesItsConfiguration(_ path: String) throws {
        let documents = try documents(path)
        let configuration = try gatewayConfiguration(documents, path)
        let kind = path.hasSuffix("daemonset.yaml") ? "DaemonSet" : "Deployment"
        let name = kind == "DaemonSet" ? "llmgw" : "billing"
        let pod = try podSpec(documents, kind: kind, name: name)
        let containers = list(pod["initContainers"]) + list(pod["containers"])
        let gateway = try #require(containers.first { $0["name"] as? String == "llmgw" })
        let volumes = list(pod["volumes"])
        let mounts = list(gateway["volumeMounts"])

        /// The volume mounted at the directory holding `file` in `container`.
        func volume(holding file: String, in container: Object) -> Object? {
            let directory = (file as NSString).deletingLastPathComponent
            guard
                let mount = list(container["volumeMounts"]).first(where: { $0["mountPath"] as? String == directory }),
                let volumeName = mount["name"] as? String
            else { return nil }
            return volumes.first { $0["name"] as? String == volumeName }
        }

        #expect(gateway["args"] as? [String] == ["serve", "--config", "/etc/llmgw/llmgw.yaml"])
        #expect(volume(holding: "/etc/llmgw/llmgw.yaml", in: gateway)?["configMap"] != nil)
        // The socket on a volume (emptyDir in a pod, hostPath for the node), mode 0660.
        let socketVolume = try #require(volume(holding: configuration.listen.socket, in: gateway))
        #expect(socketVolume["emptyDir"] != nil || socketVolume["hostPath"] != nil)
        #expect(configuration.listen.socketMode == 0o660)
        // The state on the node, so every gateway of the node shares it.
        let state = try #require(mounts.first { $0["mountPath"] as? String == configuration.state.path })
        let stateVolume = try #require(volumes.first { $0["name"] as? String == state["name"] as? String })
        #expect(object(stateVolume, "hostPath")?["path"] as? String == "/var/lib/llmgw")
        // Provider keys: files of a Secret volume, never a value in the manifest.
        for provider in configuration.providers {
            guard case .file(let keyPath)? = provider.apiKey else {
                Issue.record("providers.\(provider.name): the key must come from a Secret file")
                continue
            }
            #expect(volume(holding: keyPath, in: gateway)?["secret"] != nil, "\(keyPath)")
        }
        #expect(documents.allSatisfy { $0["kind"] as? String != "Secret" })
        // One uid for every gateway sharing the state.
        #expect(object(gateway, "securityContext")?["runAsUser"] as? Int == 10001)
        // Probes and the scrape on the admin listener, on the pod network.
        let admin = try #require(configuration.admin?.tcp)
        #expect(admin.host == "0.0.0.0")
        let port = try #require(list(gateway["ports"]).first { $0["containerPort"] as? Int == admin.port })
        for (probe, route) in [
            ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/readyz"),
        ] {
            let get = try #require(object(gateway, probe, "httpGet"), "\(probe)")
            #expect(get["path"] as? String == route)
            #expect(get["port"] as? String == port["name"] as? String)
        }
        let workload = try #require(
            documents.first { $0["kind"] as? String == kind && object($0, "metadata")?["name"] as? String == name })
        let annotations = object(workload, "spec", "template", "metadata", "annotations")
        #expect(annotations?["prometheus.io/port"] as? String == String(admin.port))
        // Sized from measured RSS: requests above the loaded ~50 MB, limit above 2,000 streams' ~150 MB.
        let resources = try #require(object(gateway, "resources"))
        #expect((bytes(object(resources, "requests")?["memory"] as? String) ?? 0) >= 50_000_000)
        #expect((bytes(object(resources, "limits")?["memory"] as? String) ?? 0) >= 200_000_000)
        // A grace period that covers the drain.
        let grace = try #require(pod["terminationGracePeriodSeconds"] as? Int)
        #expect(Duration.seconds(grace) > configuration.listen.drainTimeout)
    }

    @Test(arguments: manifests) func theApplicationReachesTheSocket(_ path: String) throws {
        let documents = try documents(path)
        let configuration = try gatewayConfiguration(documents, path)
        let pod = try podSpec(documents, kind: "Deployment", name: "billing")
        let app = try #require(list(pod["containers"]).first { $0["name"] as? String == "app" })
        let directory = (configuration.listen.socket as NSString).deletingLastPathComponent
        #expect(list(app["volumeMounts"]).contains { $0["mountPath"] as? String == directory })
        // In the socket's group (fsGroup or a supplemental group): llmgw's group, 10001.
        let security = object(pod, "securityContext")
        let groups =
            (security?["supplementalGroups"] as? [Int] ?? []) + [security?["fsGroup"] as? Int].compactMap { $0 }
        #expect(groups.contains(10001))
        // The application never sees a provider key.
        for variable in list(app["env"]) {
            #expect(variable["valueFrom"] == nil, "\(variable)")
        }
    }

    @Test(arguments: manifests) func metricsScrapeAnnotationsNameTheMetricsPath(_ path: String) throws {
        let documents = try documents(path)
        let workload = try #require(
            documents.first {
                ["Deployment", "DaemonSet"].contains($0["kind"] as? String)
                    && object($0, "spec", "template", "metadata", "annotations") != nil
            })
        let annotations = try #require(object(workload, "spec", "template", "metadata", "annotations"))
        #expect(annotations["prometheus.io/scrape"] as? String == "true")
        #expect(annotations["prometheus.io/path"] as? String == "/metrics")
    }
}
