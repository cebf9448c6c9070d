using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace GppfActors.Collectives;

// The outgoing link: frames queued by the device thread, written by the sender thread; the
// watcher reads what the next process says back (abort, bye, end of stream).
internal sealed partial class RingLinks
{
    private const int MaxBatchFrames = 16;
    private const int MaxBatchBytes = 256 << 10;

    private readonly Queue<SendItem> _sendQueue = new();
    private long _sendQueued;
    private long _sendDone;
    private bool _nextLeft;
    private bool _sendingFromTensor;

    private readonly record struct SendItem(FrameType Type, ReadOnlyMemory<byte> Payload);

    /// <summary>
    /// Queues a frame for the next process and returns at once; the bytes of <paramref name="payload"/>
    /// must stay unchanged (and alive) until <see cref="WaitSent"/> returns.
    /// </summary>
    public void Send(FrameType type, ReadOnlyMemory<byte> payload)
    {
        lock (_gate)
        {
            if (_failure is not null || _closeReason is not null)
            {
                return;   // the next wait throws the failure
            }
            _sendQueue.Enqueue(new SendItem(type, payload));
            _sendQueued++;
            if (_sendQueue.Count == 1)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Waits until every queued frame is handed to the kernel (so the caller may reuse its buffers).</summary>
    public void WaitSent(string operation)
    {
        CollectiveFailure? failure = null;
        lock (_gate)
        {
            if (_sendDone == _sendQueued && _failure is null && _closeReason is null)
            {
                return;
            }
            long started = Stopwatch.GetTimestamp();
            var deadline = Deadline.After(_settings.Time, DataTimeout);
            try
            {
                while (true)
                {
                    if (EndedError(operation) is { } ended)
                    {
                        throw ended;
                    }
                    if (_sendDone == _sendQueued)
                    {
                        return;
                    }
                    if (_nextLeft)
                    {
                        failure = CollectiveFailure.Aborted(Origin, $"{Next} left epoch {Epoch} while data for it was still queued");
                        break;
                    }
                    var slice = deadline.WaitSlice;
                    if (slice <= TimeSpan.Zero)
                    {
                        failure = CollectiveFailure.TimedOut(Origin,
                            $"timed out after {DataTimeout.TotalSeconds:0.###} s sending to {Next}, which does not read", Next.GlobalRanks, DataTimeout);
                        break;
                    }
                    Monitor.Wait(_gate, slice);
                }
            }
            finally
            {
                _waitTicks += Stopwatch.GetTimestamp() - started;
            }
        }
        Fail(failure);
        throw Failure!.ToException(Epoch, operation);
    }

    private void SendLoop(Socket socket)
    {
        var batch = new List<SendItem>(MaxBatchFrames);
        var segments = new List<ArraySegment<byte>>(2 * MaxBatchFrames);
        var headers = new byte[MaxBatchFrames * Wire.FrameHeaderBytes];
        try
        {
            while (true)
            {
                batch.Clear();
                lock (_gate)
                {
                    while (_sendQueue.Count == 0 && _failure is null && _closeReason is null)
                    {
                        Monitor.Wait(_gate);
                    }
                    if (_failure is not null)
                    {
                        break;
                    }
                    if (_closeReason is not null)
                    {
                        // Closing in good order: what the device thread queued for a collective
                        // that can no longer finish is dropped; the bye tells the next process.
                        _sendQueue.Clear();
                        break;
                    }
                    // Small frames (a header and a block, several tokens) leave in one system
                    // call; a segment of up to 1 MiB leaves alone.
                    int bytes = 0;
                    while (_sendQueue.Count > 0 && batch.Count < MaxBatchFrames &&
                        (batch.Count == 0 || bytes + _sendQueue.Peek().Payload.Length <= MaxBatchBytes))
                    {
                        var item = _sendQueue.Dequeue();
                        batch.Add(item);
                        bytes += item.Payload.Length;
                        _sendingFromTensor |= !item.Payload.IsEmpty && !MemoryMarshal.TryGetArray(item.Payload, out _);
                    }
                }
                segments.Clear();
                for (int i = 0; i < batch.Count; i++)
                {
                    var header = new ArraySegment<byte>(headers, i * Wire.FrameHeaderBytes, Wire.FrameHeaderBytes);
                    Wire.WriteFrameHeader(header, batch[i].Type, batch[i].Payload.Length);
                    segments.Add(header);
                    if (batch[i].Payload.IsEmpty)
                    {
                        continue;
                    }
                    if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(batch[i].Payload, out var array))
                    {
                        segments.Add(array);
                    }
                    else
                    {
                        // A tensor's own memory: no array to gather from, so the frame's header
                        // (and anything batched before it) goes first, then the payload.
                        SendSegments(socket, segments);
                        segments.Clear();
                        Wire.SendAll(socket, batch[i].Payload.Span);
                    }
                }
                if (segments.Count > 0)
                {
                    SendSegments(socket, segments);
                }
                lock (_gate)
                {
                    _sendDone += batch.Count;
                    _sendingFromTensor = false;
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Fail(CollectiveFailure.Aborted(Origin, $"connection to {Next} lost while sending: {e.Message}"));
        }
        lock (_gate)
        {
            _sendingFromTensor = false;
            Monitor.PulseAll(_gate);
        }
        FinishOutgoing(socket);
    }

    // Tells the next process how this epoch ended (abort or bye), then closes our sending side.
    private void FinishOutgoing(Socket socket)
    {
        CollectiveFailure? failure;
        lock (_gate)
        {
            failure = _failure;
        }
        try
        {
            socket.SendTimeout = (int)LastFrameSendLimit.TotalMilliseconds;
            Wire.SendFrame(socket, failure is null ? FrameType.Bye : FrameType.Abort, failure is null ? [] : failure.Encode());
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The next process is gone or does not read; the watcher or the timer closes the socket.
        }
        ShutdownSend(socket);
    }

    private static void SendSegments(Socket socket, List<ArraySegment<byte>> segments)
    {
        long total = 0;
        foreach (var s in segments)
        {
            total += s.Count;
        }
        long sent = socket.Send(segments);
        if (sent == total)
        {
            return;
        }
        // A blocking socket normally writes everything; finish by hand should it not have.
        foreach (var s in segments)
        {
            if (sent >= s.Count)
            {
                sent -= s.Count;
                continue;
            }
            Wire.SendAll(socket, s.AsSpan((int)sent));
            sent = 0;
        }
    }

    // The next process writes to us only to abort or to say good-bye; an end of stream without a
    // bye means it died or closed without one. Reads until the end of stream in any case, so the
    // socket is closed with nothing unread (see Fail).
    private void WatchLoop(Socket socket)
    {
        var header = new byte[Wire.FrameHeaderBytes];
        try
        {
            while (true)
            {
                if (!Wire.ReceiveExactly(socket, header))
                {
                    OnEndOfStream(fromNext: true, detail: "closed");
                    return;
                }
                var (type, length) = Wire.ReadFrameHeader(header);
                var payload = Wire.ReceiveControlPayload(socket, length);
                switch (type)
                {
                    case FrameType.Abort:
                        Fail(CollectiveFailure.Decode(payload));
                        break;
                    case FrameType.Bye:
                        lock (_gate)
                        {
                            _nextLeft = true;
                            Monitor.PulseAll(_gate);
                        }
                        break;
                    default:
                        Fail(CollectiveFailure.Aborted(Origin, $"{Next} sent an unexpected {type} frame on the reverse direction"));
                        break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or EndOfStreamException or InvalidDataException or IOException)
        {
            OnEndOfStream(fromNext: true, detail: $"lost ({e.Message})");
        }
        finally
        {
            socket.Dispose();
        }
    }

    private void OnEndOfStream(bool fromNext, string detail)
    {
        lock (_gate)
        {
            if (_failure is not null || _closeReason is not null || (fromNext ? _nextLeft : _prevLeft))
            {
                return;   // expected: we are closing, or the neighbour said good-bye first
            }
        }
        Fail(CollectiveFailure.Aborted(Origin, fromNext ? $"connection to {Next} {detail}" : $"connection from {Prev} {detail}"));
    }
}
