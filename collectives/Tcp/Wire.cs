using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace GppfActors.Collectives;

/// <summary>What a frame on a ring connection carries.</summary>
internal enum FrameType : byte
{
    /// <summary>First frame of every operation: kind, sequence number, signature, byte count.</summary>
    OpHeader = 1,

    /// <summary>A segment of an operation's payload.</summary>
    Data = 2,

    /// <summary>The empty token that closes a broadcast (see TcpCollectiveGroup.Broadcast).</summary>
    Token = 3,

    /// <summary>The sender failed or was aborted; the payload is a <see cref="CollectiveFailure"/>.</summary>
    Abort = 4,

    /// <summary>The sender leaves the epoch in good order: whatever it sent before this is complete.</summary>
    Bye = 5,
}

/// <summary>
/// The byte layout of ring connections. A connection starts with a handshake from the connecting
/// side and a one-line answer; after that every message is a frame: 1 byte type, 3 reserved bytes,
/// a 4-byte little-endian payload length, the payload.
/// </summary>
internal static class Wire
{
    public const int FrameHeaderBytes = 8;

    /// <summary>Upper bound for headers, tokens and abort frames; data frames are bounded by the segment size.</summary>
    public const int MaxControlBytes = 64 << 10;

    public const int ProtocolVersion = 1;

    private const int MaxHandshakeBytes = 4 << 10;

    /// <summary>Marks a connection as ours, so a stray client is refused before anything is parsed.</summary>
    public static ReadOnlySpan<byte> Magic => "GPPFCOL1"u8;

    public static void WriteFrameHeader(Span<byte> destination, FrameType type, int length)
    {
        destination[0] = (byte)type;
        destination[1] = 0;
        destination[2] = 0;
        destination[3] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], length);
    }

    public static (FrameType Type, int Length) ReadFrameHeader(ReadOnlySpan<byte> source) =>
        ((FrameType)source[0], BinaryPrimitives.ReadInt32LittleEndian(source[4..]));

    /// <summary>Fills <paramref name="buffer"/>; false on a clean end of stream before the first byte, <see cref="EndOfStreamException"/> on one in the middle.</summary>
    public static bool ReceiveExactly(Socket socket, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = socket.Receive(buffer[done..]);
            if (n == 0)
            {
                if (done == 0)
                {
                    return false;
                }
                throw new EndOfStreamException($"connection closed after {done} of {buffer.Length} bytes of a frame");
            }
            done += n;
        }
        return true;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; any end of stream is an error.</summary>
    public static void ReceiveAll(Socket socket, Span<byte> buffer)
    {
        if (buffer.Length > 0 && !ReceiveExactly(socket, buffer))
        {
            throw new EndOfStreamException("connection closed before an expected frame");
        }
    }

    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = socket.Send(data);
            data = data[n..];
        }
    }

    /// <summary>One frame in one write (header and payload together, so a small frame is one packet under TCP_NODELAY).</summary>
    public static void SendFrame(Socket socket, FrameType type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeaderBytes + payload.Length];
        WriteFrameHeader(frame, type, payload.Length);
        payload.CopyTo(frame.AsSpan(FrameHeaderBytes));
        SendAll(socket, frame);
    }

    /// <summary>Reads a frame that is not data (abort, bye) after its header, bounded in size.</summary>
    public static byte[] ReceiveControlPayload(Socket socket, int length)
    {
        if (length < 0 || length > MaxControlBytes)
        {
            throw new InvalidDataException($"control frame of {length} bytes (at most {MaxControlBytes})");
        }
        var payload = new byte[length];
        ReceiveAll(socket, payload);
        return payload;
    }

    public static byte[] Encode(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }
        return stream.ToArray();
    }

    public static T Decode<T>(byte[] payload, Func<BinaryReader, T> read)
    {
        using var reader = new BinaryReader(new MemoryStream(payload, writable: false), Encoding.UTF8);
        return read(reader);
    }

    /// <summary>The connecting side's opening: magic, a length, then the <see cref="Handshake"/> fields.</summary>
    public static byte[] EncodeHandshake(Handshake handshake)
    {
        var body = Encode(w =>
        {
            w.Write(ProtocolVersion);
            w.Write(handshake.Epoch);
            w.Write(handshake.SpecFingerprint);
            w.Write(handshake.FromRank);
            w.Write(handshake.ToRank);
            w.Write(handshake.FromProcessId);
        });
        var bytes = new byte[Magic.Length + 4 + body.Length];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(Magic.Length), body.Length);
        body.CopyTo(bytes.AsSpan(Magic.Length + 4));
        return bytes;
    }

    /// <summary>Reads a handshake; <see cref="InvalidDataException"/> for anything that is not one of ours.</summary>
    public static Handshake ReceiveHandshake(Socket socket)
    {
        var prefix = new byte[Magic.Length + 4];
        ReceiveAll(socket, prefix);
        if (!prefix.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a collective connection (bad magic)");
        }
        int length = BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(Magic.Length));
        if (length < 0 || length > MaxHandshakeBytes)
        {
            throw new InvalidDataException($"handshake of {length} bytes");
        }
        var body = new byte[length];
        ReceiveAll(socket, body);
        return Decode(body, r =>
        {
            int version = r.ReadInt32();
            if (version != ProtocolVersion)
            {
                throw new InvalidDataException($"protocol version {version}, this process speaks {ProtocolVersion}");
            }
            return new Handshake(r.ReadInt64(), r.ReadUInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadString());
        });
    }

    /// <summary>The accepting side's answer: one status byte (1 accepted, 0 refused, 2 the epoch failed here), a 2-byte length, then a reason or an encoded <see cref="CollectiveFailure"/>.</summary>
    public static void SendHandshakeReply(Socket socket, string? refusal) =>
        SendReply(socket, refusal is null ? (byte)1 : (byte)0, Encoding.UTF8.GetBytes(Truncate(refusal ?? "", 2000)));

    /// <summary>Refuses a connection for an epoch that failed here, passing the failure on; a connecting side that is gone needs no answer.</summary>
    public static void TrySendHandshakeFailure(Socket socket, byte[] failure)
    {
        try
        {
            socket.SendTimeout = 1000;
            SendReply(socket, 2, failure.Length <= ushort.MaxValue ? failure : failure[..ushort.MaxValue]);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Gone already.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static void SendReply(Socket socket, byte status, byte[] body)
    {
        var bytes = new byte[3 + body.Length];
        bytes[0] = status;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(1), (ushort)body.Length);
        body.CopyTo(bytes.AsSpan(3));
        SendAll(socket, bytes);
    }

    /// <summary>(null, null) when accepted; otherwise the refusal's reason, or the failure the accepting process already had.</summary>
    public static (string? Refusal, byte[]? Failure) ReceiveHandshakeReply(Socket socket)
    {
        var prefix = new byte[3];
        ReceiveAll(socket, prefix);
        var body = new byte[BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(1))];
        ReceiveAll(socket, body);
        return prefix[0] switch
        {
            1 => (null, null),
            2 => (null, body),
            _ => (Encoding.UTF8.GetString(body), null),
        };
    }

    public static string Truncate(string text, int maxChars) => text.Length <= maxChars ? text : text[..maxChars] + "...";
}

/// <summary>What a connecting member says about itself: which epoch and spec, and which link of the ring it wants.</summary>
/// <param name="FromRank">The global rank that leads the connecting process in this epoch.</param>
/// <param name="ToRank">The global rank that should lead the accepting process.</param>
internal sealed record Handshake(long Epoch, ulong SpecFingerprint, int FromRank, int ToRank, string FromProcessId);

/// <summary>The collective an <see cref="OpHeader"/> announces.</summary>
internal enum OpKind : byte
{
    RingSum = 1,
    SmallSum = 2,
    Broadcast = 3,
    AllGather = 4,
    Barrier = 5,
}

/// <summary>
/// Sent first by every member in every operation and compared by the receiver with its own, so
/// that members that issue different collectives (or sizes, roots, dtypes) fail instead of
/// exchanging bytes that mean different things. The signature travels as a hash (decisive) and as
/// text (for the error message, possibly truncated).
/// </summary>
internal sealed record OpHeader(OpKind Kind, long Sequence, long ByteCount, ulong SignatureHash, string Signature)
{
    public static OpHeader For(OpKind kind, long sequence, long byteCount, string signature) =>
        new(kind, sequence, byteCount, Fnv1a.Hash(signature), signature);

    public bool Agrees(OpHeader other) =>
        Kind == other.Kind && Sequence == other.Sequence && ByteCount == other.ByteCount && SignatureHash == other.SignatureHash;

    public override string ToString() => $"{Signature} (op #{Sequence}, {Kind}, {ByteCount} bytes)";

    public byte[] Encode() => Wire.Encode(w =>
    {
        w.Write((byte)Kind);
        w.Write(Sequence);
        w.Write(ByteCount);
        w.Write(SignatureHash);
        w.Write(Wire.Truncate(Signature, 1000));
    });

    public static OpHeader Decode(byte[] payload) => Wire.Decode(payload, r =>
        new OpHeader((OpKind)r.ReadByte(), r.ReadInt64(), r.ReadInt64(), r.ReadUInt64(), r.ReadString()));
}
