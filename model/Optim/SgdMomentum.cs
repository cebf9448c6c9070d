using static TorchSharp.torch;

namespace GppfActors.Model.Optim;

/// <summary>SGD with momentum and L2 weight decay, numerically torch.optim.SGD (dampening 0, no Nesterov), that skips parameters without a gradient.</summary>
/// <remarks>
/// Per parameter with a gradient: g = grad + wd * p (decay parameters only); the first step sets
/// buf = g, later steps buf = momentum * buf + g; then p -= lr * buf. A parameter whose grad is null
/// is skipped entirely, buffer included, because in multi-task training a step that did not use a
/// parameter must not move it or age its momentum. Owns the momentum buffers, not the parameters.
/// </remarks>
public sealed class SgdMomentum : IGppfOptimizer
{
    private const string MomentumBufferSuffix = ".momentum_buffer";
    private static readonly string[] Suffixes = [MomentumBufferSuffix];

    private readonly ParameterTable _table;
    private readonly double _momentum;
    private readonly double _weightDecay;
    // Keyed by parameter name; a parameter has a buffer only once it has had a gradient.
    private readonly Dictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);
    private bool _disposed;

    public SgdMomentum(IReadOnlyList<NamedParameter> parameters, double momentum, double weightDecay)
    {
        if (!(momentum >= 0 && momentum < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1)");
        }

        if (!(weightDecay >= 0 && double.IsFinite(weightDecay)))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be finite and >= 0");
        }

        _table = new ParameterTable(parameters);
        _momentum = momentum;
        _weightDecay = weightDecay;
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

            // Out of place: the gradient belongs to autograd and may be read again (e.g. for logging).
            var g = entry.UsesWeightDecay && _weightDecay != 0 ? grad.add(p, alpha: _weightDecay) : grad;
            if (_buffers.TryGetValue(entry.Name, out var buf))
            {
                buf.mul_(_momentum).add_(g);
            }
            else
            {
                // Kept across steps, so it must outlive this step's scope.
                buf = g.clone().DetachFromDisposeScope();
                _buffers.Add(entry.Name, buf);
            }

            p.add_(buf, alpha: -lr);
        }
    }

    public void InitializeState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        foreach (var entry in _table.Entries)
        {
            if (!_buffers.ContainsKey(entry.Name))
            {
                _buffers.Add(entry.Name, zeros_like(entry.Parameter).DetachFromDisposeScope());
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
            if (_buffers.TryGetValue(entry.Name, out var buf))
            {
                // Created in the caller's dispose scope, if any: the caller owns the copies.
                state.Add(entry.Name + MomentumBufferSuffix, buf.clone());
            }
        }

        return state;
    }

    public Dictionary<string, Tensor> StateViews()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _buffers.ToDictionary(kv => kv.Key + MomentumBufferSuffix, kv => kv.Value.alias(), StringComparer.Ordinal);
    }

    public void ApplyStateViews(IReadOnlyDictionary<string, Tensor> views)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(views);
        // Momentum buffers are all there is, and the views wrote them in place; only the keys are checked.
        var missing = _buffers.Keys.Where(name => !views.ContainsKey(name + MomentumBufferSuffix)).ToList();
        if (missing.Count > 0 || views.Count != _buffers.Count)
        {
            throw new ArgumentException($"optimizer state views do not match the state ({views.Count} entries for {_buffers.Count} buffers; missing: {string.Join(", ", missing.Take(5))})", nameof(views));
        }
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        // Validate everything before touching the current state, so a bad checkpoint leaves it intact.
        var incoming = new List<(ParameterTable.Entry Entry, Tensor Value)>(state.Count);
        foreach (var (key, value) in state)
        {
            var (entry, _) = _table.Resolve(key, Suffixes);
            ArgumentNullException.ThrowIfNull(value, key);
            ParameterTable.RequireSameShape(key, value, entry);
            incoming.Add((entry, value));
        }

        using var noGrad = no_grad();
        ClearState();
        foreach (var (entry, value) in incoming)
        {
            _buffers.Add(entry.Name, ParameterTable.OwnedCopy(value, entry));
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

    private void ClearState()
    {
        foreach (var buf in _buffers.Values)
        {
            buf.Dispose();
        }

        _buffers.Clear();
    }
}
