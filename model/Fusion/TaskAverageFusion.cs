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
        // The buffers live on the parameters' device (a GPU's, where NCCL reduces them in place).
        var device = DeviceOf(parameters);
        EnsureCapacity(total, device);

        var used = new bool[parameters.Count];
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
                used[i] = true;
            }
            offset += n;
        }
        var counts = CountsAndFlags(used, lossNotFinite || !AllFinite(packed), sideValues, device);

        group.AllReduceSum([packed, counts], "task-average");

        var (reduced, notFinite) = ReadCounts(counts, parameters, sideValues);
        if (notFinite > 0)
        {
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

    /// <summary>
    /// The same fusion without a packing buffer: the gradients themselves are summed over the group
    /// (a parameter this device did not use gets a zero gradient for the sum), so fusing costs no
    /// memory beyond the gradients. The sums are those of <see cref="Fuse"/> element for element
    /// (every all-reduce of a group adds in rank order, wherever an element sits in its buffers),
    /// so both give bit-identical results; this one is for devices that share their weights, where
    /// a per-device copy of all gradients is what the sharing saves.
    /// </summary>
    public static FusionResult FuseInPlace(ICollectiveGroup group, IReadOnlyList<NamedParameter> parameters, bool lossNotFinite = false, float[]? sideValues = null)
    {
        using var scope = NewDisposeScope();
        var used = new bool[parameters.Count];
        var grads = new Tensor[parameters.Count];
        bool finite = true;
        using (no_grad())
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i].Parameter;
                var grad = p.grad;
                if (grad is null)
                {
                    p.grad = zeros_like(p);
                    grad = p.grad!;
                }
                else
                {
                    used[i] = true;
                    finite = finite && AllFinite(grad);
                }
                grads[i] = grad;
            }
        }
        var counts = CountsAndFlags(used, lossNotFinite || !finite, sideValues, DeviceOf(parameters));

        group.AllReduceSum([.. grads, counts], "task-average");

        var (reduced, notFinite) = ReadCounts(counts, parameters, sideValues);
        if (notFinite > 0)
        {
            return new FusionResult(parameters.Count, 0, reduced, notFinite);
        }
        int updated = 0;
        using (no_grad())
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                float c = reduced[i];
                if (c > 0)
                {
                    grads[i].div_(c);
                    updated++;
                }
                else
                {
                    parameters[i].Parameter.grad = null;
                }
            }
        }
        return new FusionResult(parameters.Count, updated, reduced);
    }

    private static Device DeviceOf(IReadOnlyList<NamedParameter> parameters) => parameters.Count > 0 ? parameters[0].Parameter.device : CPU;

    // counts layout: [used count per parameter (P), devices not finite (1), side values (S)]
    private static Tensor CountsAndFlags(bool[] used, bool notFinite, float[]? sideValues, Device device)
    {
        int numSide = sideValues?.Length ?? 0;
        var values = new float[used.Length + 1 + numSide];
        for (int i = 0; i < used.Length; i++)
        {
            values[i] = used[i] ? 1 : 0;
        }
        values[used.Length] = notFinite ? 1 : 0;
        sideValues?.CopyTo(values, used.Length + 1);
        return tensor(values, device: device);                               // [P + 1 + S]
    }

    // Reads the reduced counts back; when a device was not finite, the step is skipped everywhere:
    // no parameter may be updated, so none keeps a gradient.
    private static (float[] Reduced, int NotFinite) ReadCounts(Tensor counts, IReadOnlyList<NamedParameter> parameters, float[]? sideValues)
    {
        var all = (counts.device_type == TorchSharp.DeviceType.CPU ? counts : counts.cpu()).data<float>().ToArray();
        var reduced = all[..parameters.Count];
        int notFinite = (int)Math.Round(all[parameters.Count]);
        if (sideValues is not null)
        {
            Array.Copy(all, parameters.Count + 1, sideValues, 0, sideValues.Length);
        }
        if (notFinite > 0)
        {
            foreach (var (_, p) in parameters)
            {
                p.grad = null;
            }
        }
        return (reduced, notFinite);
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

    private void EnsureCapacity(long elements, Device device)
    {
        if (flat.numel() < elements || flat.device_type != device.type || flat.device_index != device.index)
        {
            flat.Dispose();
            flat = empty(elements, device: device).DetachFromDisposeScope();
        }
    }
}

/// <summary>
/// Outcome of one fusion: parameters reduced, parameters that got an averaged gradient, each
/// parameter's used count, and how many devices reported a non-finite loss or gradient (when above
/// zero, no parameter got a gradient).
/// </summary>
public sealed record FusionResult(int NumParameters, int NumUpdated, IReadOnlyList<float> UsedCounts, int NonFiniteRanks = 0);
