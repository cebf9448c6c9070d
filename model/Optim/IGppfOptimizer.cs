using static TorchSharp.torch;

namespace GppfActors.Model.Optim;

/// <summary>An in-place parameter update rule whose state can be saved with a checkpoint and restored.</summary>
/// <remarks>
/// The learning rate is an argument of <see cref="Step"/> rather than optimizer state, so the schedule
/// is a pure function of the step counter and a resumed run cannot disagree with it.
/// The optimizer owns its state tensors and disposes them; it never owns the parameters.
/// </remarks>
public interface IGppfOptimizer : IDisposable
{
    /// <summary>Updates every parameter that currently has a gradient; parameters whose <c>grad</c> is null are left untouched.</summary>
    void Step(double lr);

    /// <summary>Copies of the state tensors under PyTorch-style keys (<c>&lt;param&gt;.&lt;buffer&gt;</c>); the caller owns and disposes them.</summary>
    Dictionary<string, Tensor> StateDict();

    /// <summary>
    /// Gives every parameter without state the state it would start from (zero buffers, step 0).
    /// The update rules are unchanged by this (a zero momentum buffer after one step equals the
    /// gradient, as PyTorch's lazily created one does), but every replica then has the same state
    /// keys, so state can be broadcast from one replica to the others and saved in one layout.
    /// </summary>
    void InitializeState();

    /// <summary>Replaces the whole state with copies of <paramref name="state"/>; the caller keeps ownership of the tensors passed in.</summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);

    /// <summary>
    /// The state under the keys of <see cref="StateDict"/>, without copies: the buffers are new
    /// handles on the optimizer's own storage (writing into them writes the state), scalars (step
    /// counts) are fresh tensors that <see cref="ApplyStateViews"/> reads back. For filling the
    /// state in place (a broadcast) where a copy of it would cost too much; the caller disposes
    /// the handles.
    /// </summary>
    Dictionary<string, Tensor> StateViews();

    /// <summary>
    /// Takes the scalars of views from <see cref="StateViews"/> written in place (the buffers
    /// already are); the key set must be exactly that of the current state.
    /// </summary>
    void ApplyStateViews(IReadOnlyDictionary<string, Tensor> views);
}
