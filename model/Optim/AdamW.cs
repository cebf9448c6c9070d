using static TorchSharp.torch;

namespace GppfActors.Model.Optim;

/// <summary>Adam with decoupled weight decay, numerically torch.optim.AdamW (no AMSGrad), with a step count per parameter and skipping of parameters without a gradient.</summary>
/// <remarks>
/// Per parameter with a gradient: t += 1; p *= 1 - lr * wd (decay parameters only);
/// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
/// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
/// The step count t is per parameter, as in PyTorch, and a parameter whose grad is null is skipped
/// entirely: in multi-task training a parameter used on a fraction of the steps must see bias
/// correction for the updates it actually received, and must not decay on steps that ignored it.
/// Owns the moment buffers, not the parameters.
/// </remarks>
public sealed class AdamW : IGppfOptimizer
{
    private const string ExpAvgSuffix = ".exp_avg";
    private const string ExpAvgSqSuffix = ".exp_avg_sq";
    private const string StepSuffix = ".step";
    private static readonly string[] Suffixes = [ExpAvgSqSuffix, ExpAvgSuffix, StepSuffix];

    private readonly ParameterTable _table;
    private readonly double _weightDecay;
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;
    // Keyed by parameter name; a parameter has state only once it has had a gradient.
    private readonly Dictionary<string, MomentState> _state = new(StringComparer.Ordinal);
    private bool _disposed;

    public AdamW(IReadOnlyList<NamedParameter> parameters, double weightDecay, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        if (!(weightDecay >= 0 && double.IsFinite(weightDecay)))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be finite and >= 0");
        }

        if (!(beta1 >= 0 && beta1 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
        }

        if (!(beta2 >= 0 && beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
        }

        if (!(eps > 0 && double.IsFinite(eps)))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be finite and > 0");
        }

        _table = new ParameterTable(parameters);
        _weightDecay = weightDecay;
        _beta1 = beta1;
        _beta2 = beta2;
        _eps = eps;
    }

    public void Step(double lr)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StepGuards.RequireLearningRate(lr);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var entry in _table.Entries)
        {
            var p = entry.Parameter;
            var grad = p.grad;
            if (grad is null)
            {
                continue;
            }

            if (!_state.TryGetValue(entry.Name, out var s))
            {
                // Kept across steps, so the buffers must outlive this step's scope.
                s = new MomentState(
                    zeros_like(p).DetachFromDisposeScope(),
                    zeros_like(p).DetachFromDisposeScope());
                _state.Add(entry.Name, s);
            }

            s.Step += 1;
            if (entry.UsesWeightDecay && _weightDecay != 0)
            {
                p.mul_(1 - (lr * _weightDecay));
            }

            s.ExpAvg.mul_(_beta1).add_(grad, alpha: 1 - _beta1);
            s.ExpAvgSq.mul_(_beta2).addcmul_(grad, grad, value: 1 - _beta2);

            // Same operation order as PyTorch's single-tensor AdamW, so results agree to float rounding.
            var biasCorrection1 = 1 - Math.Pow(_beta1, s.Step);
            var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, s.Step));
            var denom = s.ExpAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(_eps);
            p.addcdiv_(s.ExpAvg, denom, value: -(lr / biasCorrection1));
        }
    }

    public void InitializeState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        foreach (var entry in _table.Entries)
        {
            if (!_state.ContainsKey(entry.Name))
            {
                _state.Add(entry.Name, new MomentState(
                    zeros_like(entry.Parameter).DetachFromDisposeScope(),
                    zeros_like(entry.Parameter).DetachFromDisposeScope()));
            }
        }
    }

    public Dictionary<string, Tensor> StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in _table.Entries)
        {
            if (_state.TryGetValue(entry.Name, out var s))
            {
                // Created in the caller's dispose scope, if any: the caller owns the copies.
                state.Add(entry.Name + ExpAvgSuffix, s.ExpAvg.clone());
                state.Add(entry.Name + ExpAvgSqSuffix, s.ExpAvgSq.clone());
                state.Add(entry.Name + StepSuffix, tensor(s.Step, ScalarType.Int64));
            }
        }

        return state;
    }

    public Dictionary<string, Tensor> StateViews()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var views = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, s) in _state)
        {
            views.Add(name + ExpAvgSuffix, s.ExpAvg.alias());
            views.Add(name + ExpAvgSqSuffix, s.ExpAvgSq.alias());
            views.Add(name + StepSuffix, tensor(s.Step, ScalarType.Int64));
        }

        return views;
    }

    public void ApplyStateViews(IReadOnlyDictionary<string, Tensor> views)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(views);
        if (views.Count != _state.Count * Suffixes.Length)
        {
            throw new ArgumentException($"optimizer state views hold {views.Count} entries, the state has {_state.Count * Suffixes.Length}", nameof(views));
        }

        // Validate every step count before setting any.
        var steps = _state.Keys.Select(name => (name, step: views.TryGetValue(name + StepSuffix, out var v)
            ? ReadStep(name + StepSuffix, v)
            : throw new ArgumentException($"optimizer state views miss '{name}{StepSuffix}'", nameof(views)))).ToList();
        foreach (var (name, step) in steps)
        {
            _state[name].Step = step;
        }
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        // Validate everything before touching the current state, so a bad checkpoint leaves it intact.
        var parts = new Dictionary<string, (ParameterTable.Entry Entry, Tensor? ExpAvg, Tensor? ExpAvgSq, long? Step)>(StringComparer.Ordinal);
        foreach (var (key, value) in state)
        {
            var (entry, suffix) = _table.Resolve(key, Suffixes);
            ArgumentNullException.ThrowIfNull(value, key);
            var part = parts.TryGetValue(entry.Name, out var found) ? found : (entry, null, null, null);
            switch (suffix)
            {
                case ExpAvgSuffix:
                    ParameterTable.RequireSameShape(key, value, entry);
                    part.ExpAvg = value;
                    break;
                case ExpAvgSqSuffix:
                    ParameterTable.RequireSameShape(key, value, entry);
                    part.ExpAvgSq = value;
                    break;
                default:
                    part.Step = ReadStep(key, value);
                    break;
            }

            parts[entry.Name] = part;
        }

        foreach (var (name, part) in parts)
        {
            // A partial entry would leave bias correction or a moment silently reset; refuse it.
            if (part.ExpAvg is null || part.ExpAvgSq is null || part.Step is null)
            {
                var missing = part.ExpAvg is null ? ExpAvgSuffix : part.ExpAvgSq is null ? ExpAvgSqSuffix : StepSuffix;
                throw new ArgumentException($"optimizer state for '{name}' is incomplete: missing '{name}{missing}'", nameof(state));
            }
        }

        using var noGrad = no_grad();
        ClearState();
        foreach (var (name, part) in parts)
        {
            _state.Add(name, new MomentState(
                ParameterTable.OwnedCopy(part.ExpAvg!, part.Entry),
                ParameterTable.OwnedCopy(part.ExpAvgSq!, part.Entry))
            { Step = part.Step!.Value });
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        ClearState();
        _disposed = true;
    }

    private static long ReadStep(string key, Tensor value)
    {
        if (value.numel() != 1)
        {
            throw new ArgumentException($"optimizer state '{key}' must be a scalar, got shape [{string.Join(", ", value.shape)}]", nameof(value));
        }

        // PyTorch saves the step as a float32 tensor, so accept any real dtype that holds a whole number.
        // item<T> reads without creating a tensor, so nothing here needs a dispose scope.
        var asDouble = value.dtype switch
        {
            ScalarType.Int64 => value.item<long>(),
            ScalarType.Int32 => value.item<int>(),
            ScalarType.Float32 => value.item<float>(),
            ScalarType.Float64 => value.item<double>(),
            _ => throw new ArgumentException($"optimizer state '{key}' must be an integer or float scalar, got dtype {value.dtype}", nameof(value)),
        };
        if (!(asDouble >= 0 && asDouble == Math.Floor(asDouble)))
        {
            throw new ArgumentException($"optimizer state '{key}' must be a whole number >= 0, got {asDouble}", nameof(value));
        }

        return (long)asDouble;
    }

    private void ClearState()
    {
        foreach (var s in _state.Values)
        {
            s.ExpAvg.Dispose();
            s.ExpAvgSq.Dispose();
        }

        _state.Clear();
    }

    /// <summary>One parameter's AdamW state: first and second moment buffers and its own step count.</summary>
    private sealed class MomentState(Tensor expAvg, Tensor expAvgSq)
    {
        public Tensor ExpAvg { get; } = expAvg;

        public Tensor ExpAvgSq { get; } = expAvgSq;

        public long Step { get; set; }
    }
}
