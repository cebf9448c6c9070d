using GppfActors.Collectives;
using GppfActors.Model.Optim;
using static TorchSharp.torch;

namespace GppfActors.Model.Fusion;

/// <summary>
/// Task-average gradient fusion (paper section 3.2): for every parameter p the fused gradient is
/// (1 / N_p) * sum of g_i[p] over the devices i whose step used p. Owned by a device's replica; one
/// instance per replica, reused every step.
/// </summary>
/// <remarks>
/// A parameter counts as used on a device when its gradient is defined after backward, so the
/// caller clears gradients to null (not zero) before each step. One all-reduce carries the packed
/// gradients (zeros where unused) together with the per-parameter used counts. Afterwards every
/// parameter with a count above zero holds the averaged gradient and every other one has a null
/// gradient, which the optimizers treat as "no update at all" (no momentum, no weight decay).
/// Every replica must pass the same parameter list in the same order (see
/// <see cref="Network.GppfNetwork.ParametersForTasks"/>).
/// </remarks>
public sealed class TaskAverageFusion : IDisposable
{
    private Tensor flat = empty(0);

    /// <summary>Fuses the gradients of <paramref name="parameters"/> over <paramref name="group"/>; returns what was done.</summary>
    public FusionResult Fuse(ICollectiveGroup group, IReadOnlyList<NamedParameter> parameters)
    {
        using var scope = NewDisposeScope();
        long total = 0;
        foreach (var (_, p) in parameters)
        {
            total += p.numel();
        }
        EnsureCapacity(total);

        var countsData = new float[parameters.Count];
        var packed = flat.narrow(0, 0, total);                              // [sum numel]
        long offset = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i].Parameter;
            long n = p.numel();
            var slot = packed.narrow(0, offset, n);
            var grad = p.grad;
            if (grad is null)
            {
                slot.zero_();
            }
            else
            {
                slot.copy_(grad.reshape(-1));
                countsData[i] = 1;
            }
            offset += n;
        }
        var counts = tensor(countsData);                                    // [P]

        group.AllReduceSum([packed, counts], "task-average");

        var reduced = counts.data<float>().ToArray();
        int updated = 0;
        offset = 0;
        using (no_grad())
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i].Parameter;
                long n = p.numel();
                float c = reduced[i];
                if (c > 0)
                {
                    var grad = p.grad;
                    if (grad is null)
                    {
                        p.grad = zeros_like(p);
                        grad = p.grad!;
                    }
                    grad.copy_(packed.narrow(0, offset, n).view(p.shape)).div_(c);
                    updated++;
                }
                else
                {
                    p.grad = null;
                }
                offset += n;
            }
        }
        return new FusionResult(parameters.Count, updated, reduced);
    }

    public void Dispose() => flat.Dispose();

    private void EnsureCapacity(long elements)
    {
        if (flat.numel() < elements)
        {
            flat.Dispose();
            flat = empty(elements).DetachFromDisposeScope();
        }
    }
}

/// <summary>Outcome of one fusion: parameters reduced, parameters that got an averaged gradient, and each parameter's used count.</summary>
public sealed record FusionResult(int NumParameters, int NumUpdated, IReadOnlyList<float> UsedCounts);
