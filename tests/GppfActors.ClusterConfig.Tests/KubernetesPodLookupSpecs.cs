using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;
using GppfActors.ClusterConfig.Node;
using Xunit;

namespace GppfActors.ClusterConfig.Tests;

/// <summary>
/// The Kubernetes discovery method (<see cref="KubernetesPodLookup"/>) without a Kubernetes cluster:
/// which pods of an API pod list become endpoints, and a lookup through Akka.Discovery, configured by
/// <see cref="NodeConfig.Bootstrap"/>, against a stand-in API server on 127.0.0.1 over TLS with its
/// own CA, token and namespace files (the files a pod's service account provides).
/// </summary>
public sealed class KubernetesPodLookupSpecs : IDisposable
{
    private const string PodList = """
        {"kind": "PodList", "items": [
          {"metadata": {"name": "gppf-0"}, "status": {"phase": "Running", "podIP": "10.244.1.7"},
           "spec": {"containers": [{"name": "sidecar"}, {"name": "gppf", "ports": [{"name": "remoting", "containerPort": 4053}, {"name": "management", "containerPort": 8558}]}]}},
          {"metadata": {"name": "gppf-1"}, "status": {"phase": "Running", "podIP": "10.244.2.9"},
           "spec": {"containers": [{"name": "gppf", "ports": [{"name": "management", "containerPort": 9000}]}]}},
          {"metadata": {"name": "gppf-2"}, "status": {"phase": "Pending"},
           "spec": {"containers": [{"name": "gppf", "ports": [{"name": "management", "containerPort": 8558}]}]}},
          {"metadata": {"name": "gppf-3", "deletionTimestamp": "2025-01-01T00:00:00Z"}, "status": {"phase": "Running", "podIP": "10.244.3.4"},
           "spec": {"containers": [{"name": "gppf", "ports": [{"name": "management", "containerPort": 8558}]}]}},
          {"metadata": {"name": "other"}, "status": {"phase": "Running", "podIP": "10.244.4.5"},
           "spec": {"containers": [{"name": "gppf"}]}}
        ]}
        """;

    private readonly string dir = Path.Combine(Path.GetTempPath(), "gppf-k8s-" + Guid.NewGuid().ToString("N"));
    private readonly string hostVariable = "GPPF_TEST_K8S_HOST_" + Guid.NewGuid().ToString("N");
    private readonly string portVariable = "GPPF_TEST_K8S_PORT_" + Guid.NewGuid().ToString("N");

    public KubernetesPodLookupSpecs() => Directory.CreateDirectory(dir);

    [Fact]
    public void Should_take_running_pods_with_an_ip_and_the_named_port_and_leave_out_the_others()
    {
        var targets = KubernetesPodLookup.Targets(PodList, "management");

        Assert.Equal([("10.244.1.7", (int?)8558), ("10.244.2.9", 9000)], targets.Select(t => (t.Host, t.Port)));
        Assert.Equal(IPAddress.Parse("10.244.1.7"), targets[0].Address);
    }

    [Fact]
    public void Should_take_every_running_pod_without_a_port_when_no_port_name_is_asked_for()
    {
        var targets = KubernetesPodLookup.Targets(PodList, portName: null);

        Assert.Equal(["10.244.1.7", "10.244.2.9", "10.244.4.5"], targets.Select(t => t.Host));
        Assert.All(targets, t => Assert.Null(t.Port));
    }

    [Fact]
    public async Task Should_list_the_pods_of_the_namespace_and_selector_as_the_service_account_through_akka_discovery()
    {
        using var certificate = SelfSigned();
        await using var api = FakeApi.Start(certificate, HttpStatusCode.OK, PodList);
        File.WriteAllText(Path.Combine(dir, "namespace"), "training\n");
        using var system = PodSystem(api.Port, caCertificate: certificate, podNamespace: null);

        var resolved = await Discovery.Get(system).Default.Lookup(new Lookup(NodeConfig.ServiceName, "management", "tcp"), TimeSpan.FromSeconds(5));

        Assert.Equal([("10.244.1.7", (int?)8558), ("10.244.2.9", 9000)], resolved.Addresses.Select(t => (t.Host, t.Port)));
        var request = Assert.Single(api.Requests);
        Assert.StartsWith("GET /api/v1/namespaces/training/pods?labelSelector=app%3Dgppf%2Crun%3Dexp1 HTTP/1.1", request, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer token-123", request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_refuse_an_api_server_whose_certificate_is_not_from_the_service_accounts_ca()
    {
        using var certificate = SelfSigned();
        using var otherAuthority = SelfSigned();
        await using var api = FakeApi.Start(certificate, HttpStatusCode.OK, PodList);
        using var system = PodSystem(api.Port, caCertificate: otherAuthority, podNamespace: "training");

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            Discovery.Get(system).Default.Lookup(new Lookup(NodeConfig.ServiceName, "management", "tcp"), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Should_say_what_the_service_account_lacks_when_listing_pods_is_forbidden()
    {
        using var certificate = SelfSigned();
        await using var api = FakeApi.Start(certificate, HttpStatusCode.Forbidden, """{"kind": "Status", "reason": "Forbidden"}""");
        using var system = PodSystem(api.Port, caCertificate: certificate, podNamespace: "training");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Discovery.Get(system).Default.Lookup(new Lookup(NodeConfig.ServiceName, "management", "tcp"), TimeSpan.FromSeconds(5)));

        Assert.Contains("needs a Role that allows 'list' on 'pods'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_say_so_when_it_does_not_run_in_a_pod()
    {
        using var system = PodSystem(apiPort: null, caCertificate: null, podNamespace: "training");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Discovery.Get(system).Default.Lookup(new Lookup(NodeConfig.ServiceName, "management", "tcp"), TimeSpan.FromSeconds(5)));

        Assert.StartsWith("--discovery kubernetes: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("this does not run in a Kubernetes pod", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// An actor system with NodeConfig's kubernetes discovery, its service-account files and API
    /// server environment variables pointed at this test's (names of its own, so nothing else sees them).
    /// </summary>
    private ActorSystem PodSystem(int? apiPort, X509Certificate2? caCertificate, string? podNamespace)
    {
        if (apiPort is { } port)
        {
            Environment.SetEnvironmentVariable(hostVariable, "127.0.0.1");
            Environment.SetEnvironmentVariable(portVariable, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var ca = Path.Combine(dir, "ca.crt");
        if (caCertificate is not null)
        {
            File.WriteAllText(ca, caCertificate.ExportCertificatePem());
        }
        File.WriteAllText(Path.Combine(dir, "token"), "token-123\n");
        var options = new ClusterOptions("10.244.1.7", 4053, [])
        {
            Discovery = new KubernetesPodDiscovery { PodLabelSelector = "app=gppf,run=exp1", PodNamespace = podNamespace },
        }.Validate();
        var files = ConfigurationFactory.ParseString($$"""
            akka.loglevel = ERROR
            akka.discovery.kubernetes-api {
              api-service-host-env-name = "{{hostVariable}}"
              api-service-port-env-name = "{{portVariable}}"
              api-token-path = "{{Path.Combine(dir, "token")}}"
              api-ca-path = "{{ca}}"
              pod-namespace-path = "{{Path.Combine(dir, "namespace")}}"
            }
            """);
        return ActorSystem.Create("discovery", files.WithFallback(NodeConfig.Bootstrap(options)));
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kubernetes", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12 so the server side can use the key on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(hostVariable, null);
        Environment.SetEnvironmentVariable(portVariable, null);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>A stand-in for the Kubernetes API server: HTTPS on 127.0.0.1, one fixed answer, every request kept.</summary>
    private sealed class FakeApi : IAsyncDisposable
    {
        private readonly TcpListener listener;
        private readonly CancellationTokenSource stop = new();
        private readonly Task serving;
        private readonly List<string> requests = [];

        private FakeApi(X509Certificate2 certificate, HttpStatusCode status, string body)
        {
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            serving = Serve(certificate, status, body);
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (requests)
                {
                    return [.. requests];
                }
            }
        }

        public static FakeApi Start(X509Certificate2 certificate, HttpStatusCode status, string body) => new(certificate, status, body);

        private async Task Serve(X509Certificate2 certificate, HttpStatusCode status, string body)
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                using (client)
                {
                    try
                    {
                        await using var tls = new SslStream(client.GetStream());
                        await tls.AuthenticateAsServerAsync(certificate);
                        var request = await ReadHead(tls);
                        lock (requests)
                        {
                            requests.Add(request);
                        }
                        var content = Encoding.UTF8.GetBytes(body);
                        var head = $"HTTP/1.1 {(int)status} {status}\r\nContent-Type: application/json\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n";
                        await tls.WriteAsync(Encoding.ASCII.GetBytes(head));
                        await tls.WriteAsync(content);
                    }
                    catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                    {
                        // The client refused our certificate and hung up.
                    }
                }
            }
        }

        private static async Task<string> ReadHead(Stream stream)
        {
            var head = new StringBuilder();
            var buffer = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer) == 1)
            {
                head.Append((char)buffer[0]);
            }
            return head.ToString();
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
            stop.Dispose();
        }
    }
}
