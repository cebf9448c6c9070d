using System.Net;
using System.Net.Sockets;
using GppfActors.Host.Web;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.Host.Tests.Web;

/// <summary>The live view's server in-process: what it answers, and its refusal of an address it cannot bind.</summary>
public sealed class LiveViewSpecs
{
    private static LiveState State() => new(new LiveJob("j", "this process", 10, ["cls"], 3, 2), hostsTraining: true);

    [Fact]
    public async Task Should_serve_the_page_and_the_state_and_refuse_anything_but_reading()
    {
        int port = LoopbackPorts.Free();
        await using var view = await LiveView.StartAsync("127.0.0.1", port, State());
        Assert.Equal($"http://127.0.0.1:{port}/", view.Url);
        using var http = new HttpClient { BaseAddress = new Uri(view.Url), Timeout = TimeSpan.FromSeconds(10) };

        var page = await http.GetStringAsync("/");
        Assert.Contains("<script src=\"live.js\">", page);
        Assert.Contains("function renderHeatmap", await http.GetStringAsync("/live.js"));
        Assert.Contains("\"maxSteps\":10", await http.GetStringAsync("/api/state"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/nothing")).StatusCode);
        using (var head = new HttpRequestMessage(HttpMethod.Head, "/api/state"))
        {
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(head)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("/api/state", new StringContent("{}"))).StatusCode);
    }

    [Fact]
    public async Task Should_name_the_setting_when_the_port_is_taken()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var e = await Assert.ThrowsAsync<ArgumentException>(() => LiveView.StartAsync("127.0.0.1", port, State()));
        Assert.Contains($"cannot listen on 127.0.0.1:{port} (observability.web_port / --web-port)", e.Message);
    }
}
