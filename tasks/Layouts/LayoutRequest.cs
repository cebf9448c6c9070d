using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// What a layout is asked to open: one split of the data set under <see cref="Root"/>. Without <see cref="Report"/>
/// the first problem ends the open (a run must not start on broken data); with it, problems the layout can step over
/// (a missing file, a bad CSV row) are reported and the sample left out, so a check lists all of them in one pass.
/// </summary>
/// <param name="Name">Data set name for logs and errors, e.g. <c>voc/train</c>.</param>
/// <param name="Root">The layout's top folder, e.g. <c>.../VOCdevkit/VOC2012</c>.</param>
/// <param name="Split">The loader's split: <c>train</c> or <c>val</c>; each layout maps it to its own folder or list names.</param>
/// <param name="Labels">The task's class range; null for depth.</param>
/// <param name="Report">Where problems go instead of being thrown; null to throw.</param>
public sealed record LayoutRequest(string Name, string Root, string Split, LabelRange? Labels = null, Action<DataFormatException>? Report = null)
{
    /// <summary>
    /// Where folder listings are cached between opens (a run's <c>data-index/</c>), so a resume does not walk millions
    /// of files again; null to list every time.
    /// </summary>
    public string? IndexCacheDir { get; init; }

    /// <summary>Whether samples must carry a mask per box (an instance segmentation task); only COCO-JSON layouts have them.</summary>
    public bool InstanceMasks { get; init; }

    /// <summary>The layout's name for this split: <paramref name="train"/> for <c>train</c>, <paramref name="validation"/> for <c>val</c>.</summary>
    public string SplitName(string train, string validation) => Split switch
    {
        "train" => train,
        "val" => validation,
        _ => Split,
    };

    /// <summary>Throws <paramref name="problem"/>, or hands it to <see cref="Report"/> when there is one.</summary>
    public void Problem(DataFormatException problem)
    {
        if (Report is null)
        {
            throw problem;
        }
        Report(problem);
    }
}
