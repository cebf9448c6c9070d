using System.Buffers.Binary;
using Tensorboard;

namespace GppfActors.Host.Tests;

/// <summary>
/// Reads a TensorBoard log folder the way TensorBoard does: event files in name order, records in
/// file order, and a <c>SessionLog START</c> at step s discards every scalar read so far with a step
/// >= s (TensorBoard's "purge orphaned data" on restart).
/// </summary>
public static class TensorBoardEvents
{
    /// <summary>Every (tag, step) scalar that survives the purges, in reading order, and the number of START markers.</summary>
    public static (List<(string Tag, long Step, float Value)> Scalars, int Starts) Read(string logDir)
    {
        var scalars = new List<(string Tag, long Step, float Value)>();
        int starts = 0;
        foreach (var file in Directory.GetFiles(logDir, "events.out.tfevents.*").Order(StringComparer.Ordinal))
        {
            foreach (var e in Records(File.ReadAllBytes(file)))
            {
                if (e.SessionLog is { Status: SessionLog.Types.SessionStatus.Start })
                {
                    starts++;
                    scalars.RemoveAll(s => s.Step >= e.Step);
                }
                foreach (var value in e.Summary?.Value ?? [])
                {
                    scalars.Add((value.Tag, e.Step, value.SimpleValue));
                }
            }
        }
        return (scalars, starts);
    }

    // TFRecord framing; a record cut short by a kill -9 at the end of a file is ignored, as TensorBoard does.
    private static IEnumerable<Event> Records(byte[] bytes)
    {
        int offset = 0;
        while (offset + 12 <= bytes.Length)
        {
            long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
            if (offset + 12 + length + 4 > bytes.Length)
            {
                yield break;
            }
            yield return Event.Parser.ParseFrom(bytes, offset + 12, (int)length);
            offset += 12 + (int)length + 4;
        }
    }
}
