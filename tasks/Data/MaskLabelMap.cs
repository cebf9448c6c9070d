using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// How the values stored in a layout's mask files become training labels: a table from each of the 256 byte values
/// to a contiguous class index, to <see cref="LabelMask.Ignore"/>, or to "not a value this layout defines". Sets
/// encode classes differently (ADE20K's 0 = "other", COCO-Stuff's sparse ids), and the heads want 0..N-1 with 255 as
/// ignore, so the translation happens once, at decode, and a value the layout cannot hold is reported naming the file.
/// </summary>
public sealed class MaskLabelMap
{
    private const short Undefined = -1;

    // Declared before the maps built from it: static initialisers run in text order.
    private static readonly int[] UnusedCocoStuffValues = [11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90];

    private readonly short[] table;

    private MaskLabelMap(string description, short[] table)
    {
        Description = description;
        this.table = table;
    }

    /// <summary>What the stored values mean, for error messages and docs.</summary>
    public string Description { get; }

    /// <summary>Stored value = class, 255 = ignore (the project's own mask folders).</summary>
    public static MaskLabelMap Identity { get; } = Build("value = class, 255 = ignore", v => (short)v);

    /// <summary>
    /// ADE20K (ADEChallengeData2016): 0 = "other" is ignored and 1..<paramref name="numClasses"/> become
    /// 0..numClasses-1, the standard benchmark's <c>reduce_zero_label</c>.
    /// </summary>
    public static MaskLabelMap ReduceZeroLabel(int numClasses) => Build(
        $"0 = other -> ignore, 1..{numClasses} -> 0..{numClasses - 1}",
        v => v == 0 ? LabelMask.Ignore : v <= numClasses ? (short)(v - 1) : Undefined);

    /// <summary>PASCAL VOC: palette index 0..<paramref name="numClasses"/>-1 is the class (0 = background), 255 = object border, ignored.</summary>
    public static MaskLabelMap Voc(int numClasses = 21) => Build(
        $"palette index 0..{numClasses - 1} = class, 255 = border -> ignore",
        v => v < numClasses || v == LabelMask.Ignore ? (short)v : Undefined);

    /// <summary>
    /// COCO-Stuff 164k <c>stuffthingmaps</c>: value = category id - 1 (0..181), 255 = unlabeled. Eleven thing ids are
    /// unused by COCO, so the 171 used values are numbered 0..170 in id order (the benchmark's 171 classes).
    /// </summary>
    public static MaskLabelMap CocoStuff { get; } = BuildCocoStuff();

    /// <summary>The stored values COCO-Stuff never uses (0-based: category ids 12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91).</summary>
    public static IReadOnlyList<int> CocoStuffUnusedValues => UnusedCocoStuffValues;

    /// <summary>The label a stored value becomes, or null when the layout does not define the value.</summary>
    public byte? Map(byte stored) => table[stored] == Undefined ? null : (byte)table[stored];

    /// <summary>Translates a decoded mask; a value the layout does not define is an error naming the file, the pixel and the value.</summary>
    public LabelMask Apply(string maskPath, LabelMask stored)
    {
        var labels = new byte[stored.Labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var mapped = table[stored.Labels[i]];
            if (mapped == Undefined)
            {
                throw new DataFormatException(maskPath,
                    $"pixel ({i % stored.Width}, {i / stored.Width}) holds {stored.Labels[i]}, which this layout does not define ({Description})");
            }
            labels[i] = (byte)mapped;
        }
        return new LabelMask(stored.Width, stored.Height, labels);
    }

    private static MaskLabelMap Build(string description, Func<int, short> rule)
    {
        var table = new short[256];
        for (var v = 0; v < 256; v++)
        {
            table[v] = rule(v);
        }
        return new MaskLabelMap(description, table);
    }

    private static MaskLabelMap BuildCocoStuff()
    {
        var table = new short[256];
        Array.Fill(table, Undefined);
        table[LabelMask.Ignore] = LabelMask.Ignore;
        short next = 0;
        for (var v = 0; v <= 181; v++)
        {
            if (!UnusedCocoStuffValues.Contains(v))
            {
                table[v] = next++;
            }
        }
        return new MaskLabelMap($"value = category id - 1 (0..181, the {next} used ones -> 0..{next - 1}), 255 = unlabeled -> ignore", table);
    }
}
