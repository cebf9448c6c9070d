using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;
using Tensorboard;

namespace GppfActors.Host.Training;

/// <summary>
/// Writes a TensorBoard event file (TFRecord framing of <c>Event</c> protos): scalars, and a
/// <c>SessionLog START</c> at the step a run (re)starts from, which tells TensorBoard to drop the
/// events a previous, interrupted process logged at that step and later, so a resumed run shows
/// each step once. Every record is flushed as it is written.
/// </summary>
internal sealed class EventFileWriter : IDisposable
{
    private readonly FileStream stream;

    /// <summary>Creates a new event file in <paramref name="logDir"/>; names sort in creation order, so readers see restarts in order.</summary>
    public EventFileWriter(string logDir)
    {
        Directory.CreateDirectory(logDir);
        var now = DateTimeOffset.UtcNow;
        long fraction = now.Ticks % TimeSpan.TicksPerSecond;
        Path = System.IO.Path.Combine(logDir,
            FormattableString.Invariant($"events.out.tfevents.{now.ToUnixTimeSeconds():D10}.{fraction:D7}.{Environment.MachineName}.{Environment.ProcessId}"));
        stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(new Event { WallTime = WallTime(), FileVersion = "brain.Event:2" });
    }

    /// <summary>The file written.</summary>
    public string Path { get; }

    /// <summary>Marks a (re)start at <paramref name="step"/>: TensorBoard discards earlier-written events with step >= it.</summary>
    public void Start(long step) =>
        Write(new Event { WallTime = WallTime(), Step = step, SessionLog = new SessionLog { Status = SessionLog.Types.SessionStatus.Start } });

    public void Scalar(string tag, double value, long step)
    {
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        Write(new Event { WallTime = WallTime(), Step = step, Summary = summary });
    }

    public void Dispose() => stream.Dispose();

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    // TFRecord: u64 length, masked CRC32C of the length bytes, the data, masked CRC32C of the data.
    private void Write(Event e)
    {
        var data = e.ToByteArray();
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
        stream.Flush();
    }

    internal static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    /// <summary>CRC-32C (Castagnoli), as TFRecord uses it.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return ~crc;
    }
}
