using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, K classes.

/// <summary>Classification losses: cross-entropy against soft targets, and label smoothing that turns hard labels into them.</summary>
public static class ClassificationLoss
{
    /// <summary>Label-smoothed one-hot targets: onehot * (1 - e) + e / K, [B] int64 -> [B, K] float32 (PyTorch's label_smoothing).</summary>
    public static Tensor SmoothedTargets(Tensor labels, int numClasses, double smoothing)
    {
        var onehot = nn.functional.one_hot(labels, numClasses).to_type(float32);           // [B, K]
        return onehot * (1 - smoothing) + smoothing / numClasses;                          // [B, K]
    }

    /// <summary>Smooths targets that are already soft ([B, K], rows summing to 1) the same way: t * (1 - e) + e / K.</summary>
    public static Tensor SmoothSoftTargets(Tensor targets, double smoothing) =>
        targets.to_type(float32) * (1 - smoothing) + smoothing / targets.shape[1];

    /// <summary>Mean over the batch of -sum_k t_k log softmax(x)_k; <paramref name="logits"/> and <paramref name="targets"/> are [B, K].</summary>
    public static Tensor SoftCrossEntropy(Tensor logits, Tensor targets)
    {
        var logProbabilities = nn.functional.log_softmax(logits, 1);                       // [B, K]
        return -(targets * logProbabilities).sum(1).mean();
    }

    /// <summary>Cross-entropy of hard labels [B] with label smoothing <paramref name="smoothing"/>.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, double smoothing) =>
        SoftCrossEntropy(logits, SmoothedTargets(labels, (int)logits.shape[1], smoothing));
}
