using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace GppfActors.ClusterConfig.Jobs;

/// <summary>
/// Reads a job: a preset name (<c>cpu-small</c>, <c>paper-r50</c>) or a JSON file, then
/// <c>--set key=value</c> overrides (dotted keys; a task is addressed by name, e.g.
/// <c>tasks.coco.batch_size=4</c>), then binds and validates. Errors name the file and the key.
/// </summary>
public static class JobConfigLoader
{
    /// <summary>JSON options of job files: snake_case keys and enum values, unknown keys rejected.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    /// <summary>Names of the presets shipped with the program.</summary>
    public static IReadOnlyList<string> Presets { get; } = typeof(JobConfigLoader).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("GppfActors.Presets.", StringComparison.Ordinal))
        .Select(n => n["GppfActors.Presets.".Length..^".json".Length]).Order().ToArray();

    /// <summary>Loads, overrides, binds and validates a job; returns it with its resolved JSON.</summary>
    public static (JobConfig Job, string ResolvedJson) Load(string presetOrPath, IEnumerable<string> overrides)
    {
        var (source, text) = Read(presetOrPath);
        JsonNode root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                ?? throw new ArgumentException($"{source}: empty job file");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: not valid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        foreach (var assignment in overrides)
        {
            Apply(root, assignment);
        }
        JobConfig job;
        try
        {
            job = root.Deserialize<JobConfig>(Options) ?? throw new ArgumentException($"{source}: empty job");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: {KeyOf(e.Path)}: {Clean(e.Message)}", e);
        }
        job.Validate();
        return (job, JsonSerializer.Serialize(job, Options));
    }

    /// <summary>Binds a resolved job JSON (as stored in a checkpoint) without overrides.</summary>
    public static JobConfig FromResolvedJson(string json) =>
        (JsonSerializer.Deserialize<JobConfig>(json, Options) ?? throw new ArgumentException("empty job JSON")).Validate();

    private static (string Source, string Text) Read(string presetOrPath)
    {
        if (File.Exists(presetOrPath))
        {
            return (presetOrPath, File.ReadAllText(presetOrPath));
        }
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"GppfActors.Presets.{presetOrPath}.json");
        if (stream is null)
        {
            throw new ArgumentException($"--job: '{presetOrPath}' is neither a file nor a preset (presets: {string.Join(", ", Presets)})");
        }
        using var reader = new StreamReader(stream);
        return ($"preset {presetOrPath}", reader.ReadToEnd());
    }

    // key=value with a dotted key; arrays of named objects (tasks) are indexed by name.
    private static void Apply(JsonNode root, string assignment)
    {
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ArgumentException($"--set '{assignment}': expected key=value, e.g. optimizer.lr=0.08");
        }
        string key = assignment[..eq].Trim();
        string raw = assignment[(eq + 1)..];
        var parts = key.Split('.');
        JsonNode node = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            node = Child(node, parts[i], key, create: true);
        }
        JsonNode? value = ParseValue(raw);
        string last = parts[^1];
        switch (node)
        {
            case JsonObject obj:
                obj[last] = value;
                break;
            case JsonArray arr when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < arr.Count:
                arr[index] = value;
                break;
            default:
                throw new ArgumentException($"--set {key}: '{string.Join('.', parts[..^1])}' is not an object");
        }
    }

    private static JsonNode Child(JsonNode node, string part, string key, bool create)
    {
        if (node is JsonArray array)
        {
            var named = array.FirstOrDefault(e => e is JsonObject o && o["name"]?.GetValue<string>() == part);
            if (named is not null)
            {
                return named;
            }
            if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < array.Count && array[index] is { } byIndex)
            {
                return byIndex;
            }
            var names = array.OfType<JsonObject>().Select(o => o["name"]?.ToString()).Where(n => n is not null);
            throw new ArgumentException($"--set {key}: no entry named '{part}' (entries: {string.Join(", ", names)})");
        }
        var obj = node as JsonObject ?? throw new ArgumentException($"--set {key}: '{part}' is inside a value that is not an object");
        if (obj[part] is { } child)
        {
            return child;
        }
        if (!create)
        {
            throw new ArgumentException($"--set {key}: no key '{part}'");
        }
        var created = new JsonObject();
        obj[part] = created;
        return created;
    }

    private static JsonNode? ParseValue(string raw)
    {
        try
        {
            return JsonNode.Parse(raw);
        }
        catch (JsonException)
        {
            return JsonValue.Create(raw);   // a bare word is a string
        }
    }

    private static string KeyOf(string? path) => string.IsNullOrEmpty(path) ? "(top level)" : path.TrimStart('$', '.');

    private static string Clean(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
