using System.Text.RegularExpressions;
using GppfActors.Model.Backbone;
using GppfActors.Model.Norm;
using GppfActors.Model.Optim;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Network;

/// <summary>
/// One replica of the GPPF model: the dynamic backbone shared by all tasks, one Gumbel controller
/// and one head per task. Created and owned by whoever owns the device (a device actor, a test).
/// State keys: <c>backbone.*</c>, <c>controllers.{task}.logits</c>, <c>heads.{task}.*</c>.
/// </summary>
public sealed partial class GppfNetwork : nn.Module
{
    private readonly RoutedBackbone backbone;
    private readonly ModuleDict<TaskController> controllers;
    private readonly ModuleDict<nn.Module<IReadOnlyList<Tensor>, Tensor>> heads;

    /// <summary>Builds a replica; weights are drawn from a generator seeded with <paramref name="seed"/> (replicas are then aligned by broadcasting rank 0's state).</summary>
    public GppfNetwork(BackboneConfig config, IReadOnlyList<TaskHeadSpec> tasks, long seed) : base(nameof(GppfNetwork))
    {
        config.Validate();
        if (tasks.Count == 0)
        {
            throw new ArgumentException("tasks: at least one task is needed", nameof(tasks));
        }
        foreach (var t in tasks)
        {
            if (!TaskNamePattern().IsMatch(t.Name))
            {
                throw new ArgumentException($"tasks: task name '{t.Name}' must be letters, digits, '_' or '-' (it becomes part of state keys)", nameof(tasks));
            }
        }
        var duplicate = tasks.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"tasks: task '{duplicate.Key}' is listed twice", nameof(tasks));
        }

        using var generator = new Generator((ulong)seed);
        Sync = new NormSync();
        backbone = BackboneFactory.Dynamic(config, Sync, generator);
        config.ActivationCheckpointing.ApplyTo(backbone, Sync);
        controllers = nn.ModuleDict(tasks.Select(t => (t.Name, new TaskController(t.Name, backbone.NumLayers, config.NumUnits))).ToArray());
        heads = nn.ModuleDict(tasks.Select(t => (t.Name, t.CreateHead(config.StageChannels, generator))).ToArray());
        TaskNames = tasks.Select(t => t.Name).ToArray();
        RegisterComponents();
    }

    /// <summary>The backbone configuration.</summary>
    public BackboneConfig Config => backbone.Config;

    /// <summary>The replica-wide SyncBN switch: set its group (and fused mode) before a training step (a Swin backbone has no BN and ignores it).</summary>
    public NormSync Sync { get; }

    /// <summary>Task names in declaration order.</summary>
    public IReadOnlyList<string> TaskNames { get; }

    /// <summary>The shared backbone.</summary>
    public RoutedBackbone Backbone => backbone;

    /// <summary>The controller of <paramref name="task"/>.</summary>
    public TaskController Controller(string task) => controllers[CheckTask(task)];

    /// <summary>The head of <paramref name="task"/>.</summary>
    public nn.Module<IReadOnlyList<Tensor>, Tensor> Head(string task) => heads[CheckTask(task)];

    /// <summary>
    /// The precision of the network's matrix products in <see cref="Features"/> and <see cref="Forward"/>
    /// (the job's <c>train.precision</c>); the parameters stay fp32 whatever it is.
    /// </summary>
    public ComputePrecision Precision { get; set; } = ComputePrecision.Fp32;

    /// <summary>Backbone stage outputs for <paramref name="task"/>; in evaluation mode routing is always arg-max.</summary>
    public IReadOnlyList<Tensor> Features(string task, Tensor input, RouteRequest request)
    {
        using var precision = Autocast.Enter(Precision);
        var controller = Controller(task);
        IReadOnlyList<LayerRoute> routes = request.FixedPath is { } path
            ? CheckPath(path).Select(LayerRoute.Single).ToArray()
            : controller.Route(training ? request.Mode : RoutingMode.ArgMax, request.Tau, request.Seed, request.Step, request.Rank);
        return backbone.forward(input, routes);
    }

    /// <summary>Head output of <paramref name="task"/> for <paramref name="input"/>.</summary>
    public Tensor Forward(string task, Tensor input, RouteRequest request)
    {
        using var precision = Autocast.Enter(Precision);
        return Head(task).forward(Features(task, input, request));
    }

    /// <summary>
    /// The parameters a step over <paramref name="tasks"/> can touch, in registration order (the same
    /// on every replica): the backbone, plus those tasks' controllers and heads.
    /// </summary>
    public IReadOnlyList<NamedParameter> ParametersForTasks(IEnumerable<string> tasks)
    {
        var set = tasks.Select(CheckTask).ToHashSet();
        return named_parameters()
            .Where(p => p.name.StartsWith("backbone.", StringComparison.Ordinal) || set.Contains(TaskOf(p.name)))
            .Select(p => new NamedParameter(p.name, p.parameter))
            .ToArray();
    }

    /// <summary>Every parameter with its state key, in registration order (what the optimizer is built over).</summary>
    public IReadOnlyList<NamedParameter> NamedParameters() =>
        named_parameters().Select(p => new NamedParameter(p.name, p.parameter)).ToArray();

    /// <summary>
    /// Starts fine-tuning from a pre-trained state: copies every backbone tensor and the
    /// controllers and heads of <paramref name="tasks"/> (tasks both networks have) from
    /// <paramref name="state"/>; new tasks keep their fresh controllers and heads. Throws, changing
    /// nothing, when a needed key is missing or has another shape.
    /// </summary>
    public void LoadPretrained(IReadOnlyDictionary<string, Tensor> state, IEnumerable<string> tasks)
    {
        var wanted = tasks.Select(CheckTask).ToHashSet();
        var targets = state_dict()
            .Where(kv => kv.Key.StartsWith("backbone.", StringComparison.Ordinal) || wanted.Contains(TaskOf(kv.Key)))
            .ToList();
        var problems = targets
            .Select(kv => !state.TryGetValue(kv.Key, out var source) ? $"missing {kv.Key}"
                : !source.shape.SequenceEqual(kv.Value.shape) ? $"{kv.Key}: shape [{string.Join(", ", source.shape)}], expected [{string.Join(", ", kv.Value.shape)}]"
                : null)
            .OfType<string>()
            .ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"pre-trained state does not fit this network: {string.Join("; ", problems)}");
        }
        using var _ = no_grad();
        foreach (var (key, target) in targets)
        {
            target.copy_(state[key]);
        }
    }

    /// <summary>
    /// Starts fixed-path fine-tuning: this network has one unit per lego layer, and its backbone
    /// takes, layer by layer, unit <c>path[l]</c> of the pre-trained dynamic backbone in
    /// <paramref name="state"/> (a <see cref="GppfNetwork"/> state of the same architecture with N
    /// units). Controllers and heads keep their fresh values (the downstream task is new). Throws,
    /// changing nothing, when the path or a tensor does not fit.
    /// </summary>
    public void LoadPath(IReadOnlyDictionary<string, Tensor> state, IReadOnlyList<int> path)
    {
        if (Config.NumUnits != 1)
        {
            throw new ArgumentException($"fixed-path fine-tuning needs backbone.num_units = 1, this network has {Config.NumUnits}");
        }
        if (path.Count != backbone.NumLayers || path.Any(k => k < 0))
        {
            throw new ArgumentException($"a path needs {backbone.NumLayers} unit indices >= 0, got [{string.Join(", ", path)}]");
        }
        // Each static key names one tensor of the path: unit 0 of this network, unit path[l] of the source.
        using var generator = new Generator(0);
        using var layout = BackboneFactory.Static(Config, generator);
        var zeros = new int[path.Count];
        var own = state_dict();
        var pairs = layout.state_dict().Keys
            .Select(key => (Target: "backbone." + layout.DynamicKey(key, zeros), Source: "backbone." + layout.DynamicKey(key, path)))
            .ToList();
        var uncovered = own.Keys.Where(k => k.StartsWith("backbone.", StringComparison.Ordinal)).Except(pairs.Select(p => p.Target)).ToList();
        var problems = pairs
            .Select(p => !own.TryGetValue(p.Target, out var target) ? $"no {p.Target} in this network"
                : !state.TryGetValue(p.Source, out var source) ? $"missing {p.Source} (is unit {p.Source.Split(".units.")[1].Split('.')[0]} in the pre-trained backbone?)"
                : !source.shape.SequenceEqual(target.shape) ? $"{p.Source}: shape [{string.Join(", ", source.shape)}], expected [{string.Join(", ", target.shape)}]"
                : null)
            .OfType<string>()
            .Concat(uncovered.Select(k => $"{k} has no counterpart on the path"))
            .ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"pre-trained state does not fit this path: {string.Join("; ", problems.Take(10))}{(problems.Count > 10 ? $"; and {problems.Count - 10} more" : "")}");
        }
        using var _ = no_grad();
        foreach (var (target, source) in pairs)
        {
            own[target].copy_(state[source]);
        }
    }

    /// <summary>
    /// Keeps the first <paramref name="numLayers"/> lego layers (the stem first) at their current
    /// weights: their parameters stop requiring gradients, so a step leaves them without one and
    /// the optimizers skip them (no update, no momentum, no weight decay). Buffers (BatchNorm
    /// running statistics) are not parameters and are not affected.
    /// </summary>
    public void FreezeLayers(int numLayers)
    {
        if (numLayers < 0 || numLayers > backbone.NumLayers)
        {
            throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, $"must be in [0, {backbone.NumLayers}]");
        }
        for (int l = 0; l < numLayers; l++)
        {
            foreach (var p in backbone.Layer(l).parameters())
            {
                p.requires_grad = false;
            }
        }
    }

    /// <summary>Copies <paramref name="task"/>'s arg-max path into a new static backbone (in evaluation mode) that the caller owns.</summary>
    public StaticBackbone ExtractPath(string task) => ExtractPath(Controller(task).ArgMaxPath());

    /// <summary>Copies the given path into a new static backbone (ResNet or Swin, in evaluation mode) that the caller owns.</summary>
    public StaticBackbone ExtractPath(IReadOnlyList<int> path)
    {
        CheckPath(path);
        using var generator = new Generator(0);
        var result = BackboneFactory.Static(Config, generator);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var source = backbone.state_dict();
        foreach (var (key, target) in result.state_dict())
        {
            target.copy_(source[result.DynamicKey(key, path)]);
        }
        result.eval();
        return result;
    }

    private IReadOnlyList<int> CheckPath(IReadOnlyList<int> path)
    {
        if (path.Count != backbone.NumLayers || path.Any(k => k < 0 || k >= Config.NumUnits))
        {
            throw new ArgumentException($"a path needs {backbone.NumLayers} unit indices in [0, {Config.NumUnits}), got [{string.Join(", ", path)}]");
        }
        return path;
    }

    private string CheckTask(string task) =>
        TaskNames.Contains(task) ? task : throw new ArgumentException($"unknown task '{task}' (known: {string.Join(", ", TaskNames)})");

    // controllers.{task}.logits / heads.{task}.x -> task
    private static string TaskOf(string name)
    {
        var parts = name.Split('.', 3);
        return parts.Length >= 2 ? parts[1] : "";
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex TaskNamePattern();
}
