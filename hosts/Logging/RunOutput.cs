using Akka.Actor;
using GppfActors.Actors.Logging;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Compact;
using Spectre.Console;

namespace GppfActors.Host.Logging;

/// <summary>
/// Where a run's messages go. <b>text</b> (the default): the terminal lines of today, through
/// Spectre.Console. <b>json</b> (<c>--log-format json</c>): one JSON object per line on standard
/// output in Serilog's rendered compact format (CLEF: <c>@t</c> time, <c>@m</c> the message, <c>@i</c>
/// an id of its template, <c>@l</c> the level when not Information, <c>@x</c> an exception), with
/// the event's own properties and, on every line, <c>node</c>, <c>epoch</c> and <c>step</c> (null
/// until the node's first step). Akka's own log (membership, remoting, supervision, the actors'
/// warnings) goes to the same sink through <see cref="Loggers"/> (Microsoft.Extensions.Logging over
/// Serilog), so nothing else is printed.
/// </summary>
internal sealed class RunOutput : IDisposable
{
    private readonly Logger? json;
    private readonly Logger? diverted;
    private readonly ContextEnricher? context;
    private volatile Action<string>? divert;

    private RunOutput(IAnsiConsole console, Logger? json, ContextEnricher? context, Logger? diverted = null)
    {
        Console = console;
        this.json = json;
        this.context = context;
        this.diverted = diverted;
        Loggers = json is not null ? new SerilogLoggerFactory(json) : diverted is not null ? new SerilogLoggerFactory(diverted) : null;
    }

    /// <summary>The names of the formats, as <c>--log-format</c> takes them.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["text", "json"];

    /// <summary>The terminal (text mode; unused in JSON mode).</summary>
    public IAnsiConsole Console { get; }

    /// <summary>JSON mode: the structured logger of the run's own events; null in text mode.</summary>
    public Serilog.ILogger? Json => json;

    /// <summary>JSON mode: the same sink for Microsoft.Extensions.Logging (Akka's log is routed here); null in text mode.</summary>
    public ILoggerFactory? Loggers { get; }

    /// <summary>Messages go to <paramref name="console"/> as today.</summary>
    public static RunOutput Text(IAnsiConsole console) => new(console, null, null);

    /// <summary>Messages go to standard output as JSON lines, each naming <paramref name="node"/>.</summary>
    public static RunOutput JsonLines(IAnsiConsole console, string node)
    {
        var context = new ContextEnricher(node);
        var logger = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .Enrich.With(context)
            .WriteTo.Console(new RenderedCompactJsonFormatter())
            .CreateLogger();
        return new RunOutput(console, logger, context);
    }

    /// <summary>
    /// Text for a live view that redraws the terminal: messages go to the terminal until
    /// <see cref="DivertTo"/> names where they go instead; Akka's warnings and errors go there too
    /// (its own console logger would scroll the view away), its informational lines nowhere.
    /// </summary>
    public static RunOutput LiveText(IAnsiConsole console)
    {
        RunOutput? output = null;
        var logger = new LoggerConfiguration()
            .MinimumLevel.Warning()
            .WriteTo.Sink(new DivertSink(message => output?.Line(LogEventLevel.Warning, $"[yellow]{Markup.Escape(message)}[/]")))
            .CreateLogger();
        output = new RunOutput(console, null, null, logger);
        return output;
    }

    /// <summary>From now on text messages go to <paramref name="target"/> (Spectre markup) instead of the terminal; null: the terminal again.</summary>
    public void DivertTo(Action<string>? target) => divert = target;

    /// <summary>Chooses by the <c>--log-format</c> value (checked by the command line).</summary>
    public static RunOutput For(string format, IAnsiConsole console, string node) =>
        format == "json" ? JsonLines(console, node) : Text(console);

    /// <summary>From now on, lines carry the epoch and step <paramref name="system"/>'s node is at.</summary>
    public void Attach(ActorSystem system)
    {
        if (context is not null)
        {
            context.Source = NodeRunContext.For(system);
        }
    }

    /// <summary>One message: Spectre markup in text mode; in JSON mode the same text without markup, at <paramref name="level"/>.</summary>
    public void Line(LogEventLevel level, string markup)
    {
        if (json is null)
        {
            if (divert is { } target)
            {
                target(markup);
            }
            else
            {
                Console.MarkupLine(markup);
            }
        }
        else
        {
            json.Write(level, "{message:l}", Markup.Remove(markup));
        }
    }

    /// <summary>Flushes the JSON sink.</summary>
    public void Dispose()
    {
        Loggers?.Dispose();
        json?.Dispose();
        diverted?.Dispose();
    }

    /// <summary>Hands each log event's rendered message (and its exception's, if any) to a callback.</summary>
    private sealed class DivertSink(Action<string> target) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) =>
            target(logEvent.Exception is { } e ? $"{logEvent.RenderMessage()}: {e.Message}" : logEvent.RenderMessage());
    }

    /// <summary>Adds node, epoch and step to every event that does not carry its own.</summary>
    private sealed class ContextEnricher(string node) : ILogEventEnricher
    {
        private volatile NodeRunContext? source;

        public NodeRunContext? Source
        {
            get => source;
            set => source = value;
        }

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            var at = source?.Current;
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("node", node));
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("epoch", at?.Epoch));
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("step", at?.Step));
        }
    }
}
