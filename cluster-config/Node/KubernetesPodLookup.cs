using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Discovery;
using Akka.Event;
using Config = Akka.Configuration.Config;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// The Akka.Discovery method of <c>--discovery kubernetes</c>: lists the pods that match the label
/// selector through the Kubernetes API, as the pod's service account, and returns each running
/// pod's IP with its container port of the looked-up port name. Cluster Bootstrap then probes them.
/// </summary>
/// <remarks>
/// Written here rather than taken from Akka.Discovery.KubernetesApi 1.5.73: that package calls
/// KubernetesClient 17's <c>ListNamespacedPodAsync</c> and <c>V1PodList</c> constructor, which the
/// KubernetesClient versions the package source serves (19, 21) no longer have, so every lookup
/// would fail with a missing method. It reads the same settings under the same names (its HOCON
/// section, <c>pod-label-selector</c>, <c>pod-namespace</c>, the service-account paths) and applies
/// the same rules: pods being deleted, not running or without an IP are left out, and so are pods
/// without the port name when one is asked for.
/// </remarks>
public sealed class KubernetesPodLookup : ServiceDiscovery
{
    private readonly Settings settings;
    private readonly ILoggingAdapter log;
    private readonly Lazy<HttpClient> client;

    public KubernetesPodLookup(ExtendedActorSystem system, Config config)
    {
        settings = Settings.From(config);
        log = Logging.GetLogger(system, typeof(KubernetesPodLookup));
        client = new Lazy<HttpClient>(() => new HttpClient(Handler(settings.ApiCaPath)));
    }

    /// <summary>The settings, read from this method's HOCON section (see <see cref="NodeConfig.Bootstrap"/>).</summary>
    public sealed record Settings(
        string ApiServiceHostEnvName,
        string ApiServicePortEnvName,
        string ApiTokenPath,
        string ApiCaPath,
        string PodNamespacePath,
        string? PodNamespace,
        string PodLabelSelector)
    {
        public static Settings From(Config config)
        {
            string? podNamespace = config.GetString("pod-namespace", "");
            return new Settings(
                config.GetString("api-service-host-env-name"),
                config.GetString("api-service-port-env-name"),
                config.GetString("api-token-path"),
                config.GetString("api-ca-path"),
                config.GetString("pod-namespace-path"),
                string.IsNullOrWhiteSpace(podNamespace) || podNamespace == "<pod-namespace>" ? null : podNamespace,
                config.GetString("pod-label-selector"));
        }
    }

    public override async Task<Resolved> Lookup(Lookup lookup, TimeSpan resolveTimeout)
    {
        var host = Environment.GetEnvironmentVariable(settings.ApiServiceHostEnvName);
        var port = Environment.GetEnvironmentVariable(settings.ApiServicePortEnvName);
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port))
        {
            throw new InvalidOperationException(
                $"--discovery kubernetes: {settings.ApiServiceHostEnvName} and {settings.ApiServicePortEnvName} are not set: this does not run in a Kubernetes pod");
        }
        var podNamespace = settings.PodNamespace ?? ReadTrimmed(settings.PodNamespacePath) ?? "default";
        var selector = settings.PodLabelSelector;
        var uri = new Uri($"https://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}" +
            $"/api/v1/namespaces/{Uri.EscapeDataString(podNamespace)}/pods?labelSelector={Uri.EscapeDataString(selector)}");
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        // Read at every lookup: Kubernetes rotates projected service-account tokens.
        if (ReadTrimmed(settings.ApiTokenPath) is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var timeout = new CancellationTokenSource(resolveTimeout);
        using var response = await client.Value.SendAsync(request, timeout.Token);
        var body = await response.Content.ReadAsStringAsync(timeout.Token);
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new InvalidOperationException(
                $"--discovery kubernetes: the Kubernetes API refused to list pods in namespace {podNamespace}: the pod's service account needs a Role that allows 'list' on 'pods' (see deploy/kubernetes)");
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"--discovery kubernetes: listing pods in namespace {podNamespace} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        var targets = Targets(body, lookup.PortName);
        if (targets.Count == 0)
        {
            log.Warning("No running pods with an IP{0} in namespace [{1}] match [{2}]",
                lookup.PortName is null ? "" : $" and a container port named [{lookup.PortName}]", podNamespace, selector);
        }
        return new Resolved(lookup.ServiceName, targets);
    }

    /// <summary>
    /// The endpoints in a pod list (the API's JSON): each running pod's IP, with the container port
    /// named <paramref name="portName"/> when one is asked for (pods without it are left out).
    /// </summary>
    public static IReadOnlyList<ResolvedTarget> Targets(string podListJson, string? portName)
    {
        using var document = JsonDocument.Parse(podListJson);
        var targets = new List<ResolvedTarget>();
        if (!document.RootElement.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return targets;
        }
        foreach (var pod in items.EnumerateArray())
        {
            if (pod.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("deletionTimestamp", out var deleting) && deleting.ValueKind != JsonValueKind.Null)
            {
                continue;
            }
            if (!pod.TryGetProperty("status", out var status) || String(status, "phase") != "Running" || String(status, "podIP") is not { Length: > 0 } ip
                || !IPAddress.TryParse(ip, out var address))
            {
                continue;
            }
            int? port = null;
            if (portName is not null)
            {
                port = ContainerPort(pod, portName);
                if (port is null)
                {
                    continue;
                }
            }
            targets.Add(new ResolvedTarget(ip, port, address));
        }
        return targets;
    }

    private static int? ContainerPort(JsonElement pod, string portName)
    {
        if (!pod.TryGetProperty("spec", out var spec) || !spec.TryGetProperty("containers", out var containers) || containers.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        foreach (var container in containers.EnumerateArray())
        {
            if (!container.TryGetProperty("ports", out var ports) || ports.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            foreach (var port in ports.EnumerateArray())
            {
                if (String(port, "name") == portName && port.TryGetProperty("containerPort", out var number) && number.TryGetInt32(out int value))
                {
                    return value;
                }
            }
        }
        return null;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? ReadTrimmed(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    /// <summary>Trusts the API server's certificate only when it chains to the service account's CA (when there is one).</summary>
    private static SocketsHttpHandler Handler(string caPath)
    {
        var handler = new SocketsHttpHandler();
        if (!File.Exists(caPath))
        {
            return handler;
        }
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(caPath);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        return handler;
    }
}
