namespace GppfActors.Tasks.Data;

/// <summary>
/// A task's samples addressed by index. It holds no cursor: the task sampler hands out indices and
/// any index can be decoded at any time on any thread, which is what makes a step replayable.
/// </summary>
public interface ITaskDataset
{
    /// <summary>Name used in logs and errors, e.g. "detection/train".</summary>
    string Name { get; }

    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Decodes sample <paramref name="index"/>; a bad file throws a <see cref="Formats.DataFormatException"/> naming it.</summary>
    DecodedSample Decode(long index);

    /// <summary>The main file of a sample, named when it is slow or bad.</summary>
    string SourceOf(long index);
}
