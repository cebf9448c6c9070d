using static TorchSharp.torch;

namespace GppfActors.Testing;

/// <summary>
/// Two toy classification tasks with real signal and different input sizes, generated from
/// (task, step, rank) so every step can be replayed: "colour" (16x16, which colour channel a
/// bright square at a random place lights up, or all three: 4 classes) and "stripes" (24x24,
/// horizontal / vertical / no stripes, 3 classes).
/// </summary>
public static class ToyTasks
{
    public static readonly (string Name, int Classes) Colour = ("colour", 4);
    public static readonly (string Name, int Classes) Stripes = ("stripes", 3);

    public static (Tensor X, Tensor Y) Batch(string task, long step, int rank, int batchSize = 8)
    {
        using var g = new Generator((ulong)(step * 131 + rank * 7 + (task == Colour.Name ? 0 : 1_000_003)));
        var y = randint(0, task == Colour.Name ? 4 : 3, new long[] { batchSize }, generator: g);
        var labels = y.data<long>().ToArray();
        int size = task == Colour.Name ? 16 : 24;
        var x = randn(new long[] { batchSize, 3, size, size }, generator: g) * 0.5;
        for (int i = 0; i < batchSize; i++)
        {
            if (task == Colour.Name)
            {
                int r0 = (int)((step * 5 + i * 3 + rank) % 10), c0 = (int)((step * 3 + i * 7 + rank) % 10);
                var channels = labels[i] == 3 ? TensorIndex.Colon : TensorIndex.Single(labels[i]);
                x[i, channels, TensorIndex.Slice(r0, r0 + 6), TensorIndex.Slice(c0, c0 + 6)] += 2.0;
            }
            else if (labels[i] == 0)
            {
                x[i, TensorIndex.Colon, TensorIndex.Slice(0, size, 4), TensorIndex.Colon] += 2.0;
            }
            else if (labels[i] == 1)
            {
                x[i, TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(0, size, 4)] += 2.0;
            }
        }
        return (x, y);
    }
}
