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
/// The same all-reduce carries each device's "non-finite" flag (its loss, or any of its gradients,
/// is NaN or infinite), so that every replica learns, without a collective of its own, how many
/// devices failed: if any did, every replica drops all gradients and the step is skipped everywhere.
/// It can also carry a caller's small float vector to be summed over the group (side values).
/// </remarks>
public sealed class TaskAverageFusion : IDisposable
{
    private Tensor flat = empty(0);

    /// <summary>Fuses the gradients of <paramref name="parameters"/> over <paramref name="group"/>; returns what was done.</summary>
    /// <param name="group">The step's group.</param>
    /// <param name="parameters">The step's parameters, the same list on every replica.</param>
    /// <param name="lossNotFinite">True when this device's loss is NaN or infinite.</param>
    /// <param name="sideValues">Values summed over the group in the same all-reduce, in place; the same length on every replica.</param>
    public FusionResult Fuse(ICollectiveGroup group, IReadOnlyList<NamedParameter> parameters, bool lossNotFinite = false, float[]? sideValues = null)
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
        // counts layout: [used count per parameter (P), devices not finite (1), side values (S)]
        int numSide = sideValues?.Length ?? 0;
        var countsAndFlags = new float[parameters.Count + 1 + numSide];
        countsData.CopyTo(countsAndFlags, 0);
        countsAndFlags[parameters.Count] = lossNotFinite || !AllFinite(packed) ? 1 : 0;
        sideValues?.CopyTo(countsAndFlags, parameters.Count + 1);
        var counts = tensor(countsAndFlags);                                // [P + 1 + S]

        group.AllReduceSum([packed, counts], "task-average");

        var all = counts.data<float>().ToArray();
        var reduced = all[..parameters.Count];
        int notFinite = (int)Math.Round(all[parameters.Count]);
        if (sideValues is not null)
        {
            Array.Copy(all, parameters.Count + 1, sideValues, 0, numSide);
        }
        if (notFinite > 0)
        {
            // Skipped everywhere: no parameter may be updated, so none keeps a gradient.
            foreach (var (_, p) in parameters)
            {
                p.grad = null;
            }
            return new FusionResult(parameters.Count, 0, reduced, notFinite);
        }

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

    // One pass over the packed gradients: min and max are NaN if any element is NaN, and infinite
    // if any element is infinite.
    private static bool AllFinite(Tensor packed)
    {
        if (packed.numel() == 0)
        {
            return true;
        }
        var (min, max) = packed.aminmax();
        return double.IsFinite(min.item<float>()) && double.IsFinite(max.item<float>());
    }

    private void EnsureCapacity(long elements)
    {
        if (flat.numel() < elements)
        {
            flat.Dispose();
            flat = empty(elements).DetachFromDisposeScope();
        }
    }
}

/// <summary>
/// Outcome of one fusion: parameters reduced, parameters that got an averaged gradient, each
/// parameter's used count, and how many devices reported a non-finite loss or gradient (when above
/// zero, no parameter got a gradient).
/// </summary>
public sealed record FusionResult(int NumParameters, int NumUpdated, IReadOnlyList<float> UsedCounts, int NonFiniteRanks = 0);
