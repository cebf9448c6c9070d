using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Precision;

/// <summary>
/// The compute precision of the calling thread, and the operations that follow it: the layers whose
/// cost is in matrix products (<see cref="Conv2d"/>, <see cref="Linear"/>, attention's
/// <see cref="MatMul"/>) run in bf16 inside an <see cref="Enter"/> of <see cref="ComputePrecision.Bf16"/>
/// and hand fp32 back; everything else (normalisation, activations, softmax, losses) never sees a
/// bf16 tensor. PyTorch's autocast is a thread-local mode for the same reason: the precision belongs
/// to the forward pass being run, not to the modules, so the same weights can run a bf16 training
/// step on one device thread and an fp32 evaluation on another.
/// </summary>
/// <remarks>
/// The casts are differentiable: the gradient of each bf16 weight copy flows back through the cast
/// into the fp32 parameter's <c>grad</c>, so the optimizer and the task-average fusion see fp32
/// gradients as before. Outside any <see cref="Enter"/> (and inside one of <see cref="ComputePrecision.Fp32"/>)
/// every operation is exactly the module's own <c>forward</c>. Code that runs a forward again on
/// another occasion (activation checkpointing's recomputation inside backward, which libtorch may
/// run on its own thread for CUDA tensors) captures <see cref="Current"/> and enters it there.
/// </remarks>
public static class Autocast
{
    [ThreadStatic]
    private static ComputePrecision current;

    /// <summary>The calling thread's precision (<see cref="ComputePrecision.Fp32"/> unless inside <see cref="Enter"/>).</summary>
    public static ComputePrecision Current => current;

    /// <summary>Runs the calling thread at <paramref name="precision"/> until the returned scope is disposed (scopes nest).</summary>
    public static Scope Enter(ComputePrecision precision)
    {
        var previous = current;
        current = precision;
        return new Scope(previous);
    }

    /// <summary><paramref name="conv"/> applied to <paramref name="input"/> at the thread's precision; fp32 out.</summary>
    public static Tensor AutocastForward(this Conv2d conv, Tensor input)
    {
        if (current == ComputePrecision.Fp32)
        {
            return conv.forward(input);
        }
        if (conv.padding_type is not null || conv.padding_mode != TorchSharp.PaddingModes.Zeros)
        {
            throw new NotSupportedException($"{current} convolution supports explicit zero padding only (padding_type {conv.padding_type}, padding_mode {conv.padding_mode})");
        }
        var dtype = ScalarTypeOf(current);
        var output = nn.functional.conv2d(input.to(dtype), conv.weight!.to(dtype), conv.bias?.to(dtype),
            strides: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups);
        return output.to(float32);
    }

    /// <summary><paramref name="linear"/> applied to <paramref name="input"/> at the thread's precision; fp32 out.</summary>
    public static Tensor AutocastForward(this Linear linear, Tensor input)
    {
        if (current == ComputePrecision.Fp32)
        {
            return linear.forward(input);
        }
        var dtype = ScalarTypeOf(current);
        return nn.functional.linear(input.to(dtype), linear.weight!.to(dtype), linear.bias?.to(dtype)).to(float32);
    }

    /// <summary><c>a.matmul(b)</c> at the thread's precision; fp32 out.</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (current == ComputePrecision.Fp32)
        {
            return a.matmul(b);
        }
        var dtype = ScalarTypeOf(current);
        return a.to(dtype).matmul(b.to(dtype)).to(float32);
    }

    /// <summary>The tensor element type of <paramref name="precision"/>'s products.</summary>
    public static ScalarType ScalarTypeOf(ComputePrecision precision) => precision switch
    {
        ComputePrecision.Fp32 => ScalarType.Float32,
        ComputePrecision.Bf16 => ScalarType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown compute precision"),
    };

    /// <summary>Restores the precision that was current before <see cref="Enter"/>.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ComputePrecision previous;

        internal Scope(ComputePrecision previous) => this.previous = previous;

        public void Dispose() => current = previous;
    }
}
