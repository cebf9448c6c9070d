using System.Globalization;
using GppfActors.Testing;
using Microsoft.Playwright;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests.Web;

/// <summary>
/// The live view in a real browser: the system's Chromium (Debian's <c>chromium</c>, or
/// <c>GPPF_CHROMIUM</c>) driven headless by Playwright, whose bundled driver is used as is and
/// never downloads a browser. A short <c>gppf train</c> serves the page on a free loopback port.
/// </summary>
public sealed class LiveViewBrowserSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    private const double Seconds = 120;

    /// <summary>Where the README's screenshot lives; the spec refreshes it when <c>GPPF_UPDATE_SCREENSHOTS=1</c>.</summary>
    private const string ReadmeScreenshot = "docs/img/live-view.png";

    [Fact]
    public async Task Should_show_members_steps_routing_and_checkpoints_that_update_when_a_run_is_watched()
    {
        string chromium = Environment.GetEnvironmentVariable("GPPF_CHROMIUM") is { Length: > 0 } set ? set : "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"the live view's browser spec needs Chromium at {chromium}: apt-get install chromium (.ci/run installs it), or set GPPF_CHROMIUM to a Chromium binary");

        int port = LoopbackPorts.Free();
        string run = Path.Combine(fixture.Root, "live-view");
        using var gppf = GppfProcess.Start(fixture.Root, fixture.Job(run, 400, 10,
            "--set", "eval.every_steps=10", "--web-port", port.ToString(CultureInfo.InvariantCulture)));
        Assert.True(gppf.WaitForOutput($"live view: http://127.0.0.1:{port}/", Seconds), gppf.OutputSoFar);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],   // root in a container has neither a sandbox nor much /dev/shm
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        page.SetDefaultTimeout((float)(Seconds * 1000));
        await page.GotoAsync($"http://127.0.0.1:{port}/");

        // Members and the devices of the last step, each with the task it ran.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#members td.device').length === 2 && document.querySelector('#members td.device').textContent === 'cpu:0'");
        Assert.Equal("this process", await page.InnerTextAsync("#members td.coordinator"));
        var tasks = await page.Locator("#members td.task").AllInnerTextsAsync();
        Assert.All(tasks, t => Assert.Contains(t, new[] { "shapes_cls", "shapes_det", "shapes_seg" }));

        // The step moves on between two reads.
        long first = await Step(page);
        await page.WaitForFunctionAsync($"() => Number(document.body.dataset.step) > {first}");
        Assert.True(await Step(page) > first);

        // The heatmap: 3 tasks x 5 lego layers, each cell a unit and its probability; it changes with the next evaluation.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#heatmap rect.cell').length === 15");
        long routedAt = long.Parse(await page.GetAttributeAsync("#heatmap", "data-step") ?? "", CultureInfo.InvariantCulture);
        var units = await page.Locator("#heatmap rect.cell").EvaluateAllAsync<string[]>("cells => cells.map(c => c.dataset.task + '/' + c.dataset.layer + ':' + c.dataset.unit + '@' + c.dataset.p)");
        Assert.Equal(15, units.Select(u => u.Split(':')[0]).Distinct().Count());
        await page.WaitForFunctionAsync($"() => Number(document.querySelector('#heatmap').dataset.step) > {routedAt}");
        Assert.Equal(15, await page.Locator("#heatmap rect.cell").CountAsync());

        // Events: the first epoch and a committed checkpoint.
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#events li.checkpoint')].some(e => e.textContent.includes('committed'))");
        Assert.Contains("epoch 1", string.Join("\n", await page.Locator("#events li.epoch").AllInnerTextsAsync()));

        // Enough steps for curves worth a picture, then the picture.
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.step) >= 120 && document.querySelectorAll('#loss polyline').length === 3");
        Assert.Equal("training", await page.InnerTextAsync("#status"));
        Assert.NotEqual("-", await page.InnerTextAsync("#eta"));
        string picture = Path.Combine(run, "live-view.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = picture, FullPage = true });
        Assert.True(new FileInfo(picture).Length > 10_000);
        if (Environment.GetEnvironmentVariable("GPPF_UPDATE_SCREENSHOTS") == "1")
        {
            File.Copy(picture, Path.Combine(RepositoryRoot(), ReadmeScreenshot), overwrite: true);
        }
        output.WriteLine($"screenshot: {picture}");
    }

    private static async Task<long> Step(IPage page) =>
        long.Parse(await page.EvaluateAsync<string>("() => document.body.dataset.step"), CultureInfo.InvariantCulture);

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "GppfActors.sln")))
            {
                return folder.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no GppfActors.sln above {AppContext.BaseDirectory}");
    }
}
