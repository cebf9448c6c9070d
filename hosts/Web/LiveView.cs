using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GppfActors.Host.Web;

/// <summary>
/// The live view's web server (Kestrel): the page and its script from the program's embedded
/// resources, and <c>/api/state</c>, a JSON snapshot of <see cref="LiveState"/> (the page polls it
/// every second). Read-only: GET and HEAD only, nothing it serves changes the run.
/// </summary>
internal sealed class LiveView : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,   // a non-finite loss is shown, not an error
    };

    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new()
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/index.html"] = ("index.html", "text/html; charset=utf-8"),
        ["/live.js"] = ("live.js", "text/javascript; charset=utf-8"),
        ["/live.css"] = ("live.css", "text/css; charset=utf-8"),
    };

    private readonly WebApplication app;

    private LiveView(WebApplication app, string url)
    {
        this.app = app;
        Url = url;
    }

    /// <summary>Where the page is, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public string Url { get; }

    /// <summary>
    /// Binds <paramref name="host"/>:<paramref name="port"/> and serves; throws <see cref="ArgumentException"/>
    /// naming the setting when the address cannot be bound (in use, not this machine's, not permitted).
    /// </summary>
    public static async Task<LiveView> StartAsync(string host, int port, LiveState state)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(LiveView).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        var address = host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(address, port));
        var app = builder.Build();
        app.Run(context => Serve(context, state));
        try
        {
            await app.StartAsync();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync();
            throw new ArgumentException($"live view: cannot listen on {host}:{port} (observability.web_port / --web-port): {e.Message}", e);
        }
        string shown = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return new LiveView(app, $"http://{shown}:{port}/");
    }

    public async ValueTask DisposeAsync()
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));   // a page's open request does not hold the exit
        await app.StopAsync(patience.Token);
        await app.DisposeAsync();
    }

    private static async Task Serve(HttpContext context, LiveState state)
    {
        var request = context.Request;
        var response = context.Response;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        response.Headers.CacheControl = "no-store";
        string path = request.Path.Value ?? "/";
        if (path == "/api/state")
        {
            response.ContentType = "application/json; charset=utf-8";
            await JsonSerializer.SerializeAsync(response.Body, state.Snapshot(), Json, context.RequestAborted);
            return;
        }
        if (!Assets.TryGetValue(path, out var asset))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"GppfActors.Host.Web.{asset.Resource}")
            ?? throw new InvalidOperationException($"the live view's {asset.Resource} is not embedded in the program");
        response.ContentType = asset.ContentType;
        response.ContentLength = stream.Length;
        await stream.CopyToAsync(response.Body, context.RequestAborted);
    }
}
