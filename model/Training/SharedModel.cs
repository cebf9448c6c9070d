using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using static TorchSharp.torch;

namespace GppfActors.Model.Training;

/// <summary>
/// One copy of the model's parameters, buffers and optimizer state for every virtual device of a
/// process: each device's <see cref="Replica"/> has its own network whose parameters and buffers
/// alias this storage (so each device keeps its own gradients and autograd graph), and one
/// optimizer step per training step updates it. Owned by the process (the workload factory);
/// replicas attach and detach, and the last one to detach disposes it.
/// </summary>
/// <remarks>
/// Replicas of one process are bit-identical after every step, so K copies of the weights and
/// optimizer state are waste: with sharing, a device beyond the first costs its gradients and
/// activations. The step is applied once: the first device of a step to reach the update does it,
/// under <see cref="Gate"/>, with its fused gradient (identical on every device after the
/// all-reduce), and the others wait for it before returning, so no device starts the next forward
/// on half-updated weights. A device that fails before the update has no part in it; the update
/// then is the one its healthy peers would each have applied to their own replicas.
/// </remarks>
public sealed class SharedModel : IDisposable
{
    private readonly Dictionary<string, Tensor> parameters;
    private readonly Dictionary<string, Tensor> buffers;
    private (long Epoch, long Step) lastApplied = (-1, -1);
    private int attached;
    private bool disposed;

    /// <summary>Takes ownership of <paramref name="network"/> (the storage every replica aliases) and builds the optimizer over it.</summary>
    public SharedModel(GppfNetwork network, OptimizerConfig optimizer)
    {
        Network = network;
        Optimizer = Optimizers.Create(optimizer, network.NamedParameters());
        Optimizer.InitializeState();
        parameters = network.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        buffers = network.named_buffers().ToDictionary(b => b.name, b => b.buffer, StringComparer.Ordinal);
    }

    /// <summary>The network that owns the shared storage; never run by a device.</summary>
    public GppfNetwork Network { get; }

    /// <summary>The one optimizer, over <see cref="Network"/>'s parameters.</summary>
    public IGppfOptimizer Optimizer { get; }

    /// <summary>Serialises updates of the shared state (the step's update, a restore, optimizer counters).</summary>
    public object Gate { get; } = new();

    /// <summary>Replicas attached now.</summary>
    public int NumAttached
    {
        get
        {
            lock (Gate)
            {
                return attached;
            }
        }
    }

    /// <summary>True once the last replica detached (or <see cref="Dispose"/> was called).</summary>
    public bool IsDisposed
    {
        get
        {
            lock (Gate)
            {
                return disposed;
            }
        }
    }

    /// <summary>
    /// Builds a device's replica: <paramref name="build"/> makes a network of the same architecture
    /// (its own initial values are dropped), whose every parameter and buffer is then pointed at the
    /// shared storage. Builds run one at a time, so at most one throwaway copy of the weights exists.
    /// </summary>
    public Replica CreateReplica(Func<GppfNetwork> build)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var network = build();
            try
            {
                Attach(network);
            }
            catch
            {
                network.Dispose();
                throw;
            }
            attached++;
            return new Replica(network, this);
        }
    }

    /// <summary>A replica is gone (disposed); the last one disposes the shared state.</summary>
    internal void Detach()
    {
        lock (Gate)
        {
            if (--attached == 0)
            {
                Dispose();
            }
        }
    }

    /// <summary>
    /// Applies step <paramref name="step"/> of epoch <paramref name="epoch"/> to the shared state by
    /// running <paramref name="update"/>, unless another device already did; returns when the
    /// update is in place either way. True when this call ran it.
    /// </summary>
    internal bool ApplyOnce(long epoch, long step, Action update)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (lastApplied == (epoch, step))
            {
                return false;
            }
            update();
            lastApplied = (epoch, step);
            return true;
        }
    }

    /// <summary>
    /// One optimizer step with the gradients of <paramref name="fused"/> (a device's fused
    /// parameters; those without a gradient are not updated). Called inside <see cref="ApplyOnce"/>.
    /// </summary>
    internal void Step(IReadOnlyList<NamedParameter> fused, double learningRate)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, p) in fused)
        {
            if (p.grad is { } grad)
            {
                parameters[name].grad = grad;
            }
        }
        try
        {
            Optimizer.Step(learningRate);
        }
        finally
        {
            foreach (var p in parameters.Values)
            {
                p.grad = null;
            }
        }
    }

    // Points every parameter and buffer of a device's network at the shared tensor of the same
    // name: the tensors keep their identity (modules hold them in fields), only their storage moves.
    private void Attach(GppfNetwork network)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var own = network.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(network.named_buffers().Select(b => (b.name, b.buffer))).ToList();
        var problems = own.Where(t => !(parameters.TryGetValue(t.name, out var s) || buffers.TryGetValue(t.name, out s))
                || !s.shape.SequenceEqual(t.Item2.shape) || s.dtype != t.Item2.dtype)
            .Select(t => t.name).ToList();
        if (problems.Count > 0 || own.Count != parameters.Count + buffers.Count)
        {
            throw new ArgumentException($"the device network does not match the shared model: {string.Join(", ", problems.Take(10))}");
        }
        foreach (var (name, tensor) in own)
        {
            tensor.set_(parameters.TryGetValue(name, out var shared) ? shared : buffers[name]);
        }
    }

    public void Dispose()
    {
        lock (Gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            Optimizer.Dispose();
            Network.Dispose();
        }
    }
}
