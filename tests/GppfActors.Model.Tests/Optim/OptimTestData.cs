using GppfActors.Model.Optim;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Optim;

/// <summary>Seeded parameters and gradients shared by the optimizer specs: one decayed 2-D weight, one 1-D bias and one 2-D controller logit table.</summary>
internal static class OptimTestData
{
    public static readonly string[] Names = ["head.weight", "head.bias", "controllers.task0.logits"];

    /// <summary>Index of the only parameter that takes weight decay.</summary>
    public const int DecayIndex = 0;

    public static Tensor[] InitialValues(Generator gen) =>
    [
        randn([4, 3], generator: gen),
        randn([4], generator: gen),
        randn([2, 3], generator: gen),
    ];

    /// <summary>Fresh leaf parameters holding copies of <paramref name="values"/>, so two optimizers can run on identical but separate tensors.</summary>
    public static NamedParameter[] ParametersFrom(IReadOnlyList<Tensor> values) =>
        values.Select((v, i) => new NamedParameter(Names[i], new Parameter(v.detach().clone(), requires_grad: true))).ToArray();

    public static Tensor[] RandomLike(Generator gen, IReadOnlyList<NamedParameter> parameters) =>
        parameters.Select(p => randn(p.Parameter.shape, generator: gen)).ToArray();

    /// <summary>Gives each parameter its own copy of the gradient; a null entry clears that parameter's gradient.</summary>
    public static void SetGrads(IReadOnlyList<NamedParameter> parameters, IReadOnlyList<Tensor?> grads)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters[i].Parameter.grad = grads[i]?.clone();
        }
    }

    public static double MaxAbsDiff(IReadOnlyList<NamedParameter> a, IReadOnlyList<NamedParameter> b)
    {
        using var scope = NewDisposeScope();
        return a.Zip(b).Max(pair => (pair.First.Parameter - pair.Second.Parameter).abs().max().item<float>());
    }

    public static double MaxAbsDiff(IReadOnlyList<NamedParameter> a, IReadOnlyList<Tensor> b)
    {
        using var scope = NewDisposeScope();
        return a.Zip(b).Max(pair => (pair.First.Parameter - pair.Second).abs().max().item<float>());
    }

    /// <summary>True when every element is bitwise the same value (tensor.equal in TorchSharp 0.107 is elementwise).</summary>
    public static bool BitEqual(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    public static double[] Values(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();

    /// <summary>A float64 leaf parameter, so hand-computed expectations can be checked to 1e-12.</summary>
    public static NamedParameter Float64Parameter(string name, double[] values, params long[] shape) =>
        new(name, new Parameter(tensor(values, ScalarType.Float64).reshape(shape), requires_grad: true));

    public static Tensor Float64(double[] values, params long[] shape) => tensor(values, ScalarType.Float64).reshape(shape);
}
