using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace GppfActors.Collectives;

// The incoming link: the device thread posts, in wire order, a slot for every frame it expects
// in the current operation; the receiver thread fills them as frames arrive.
internal sealed partial class RingLinks
{
    private readonly List<Slot> _slots = [];
    private readonly Stack<byte[]> _pool;
    private int _receiveCursor;
    private bool _prevLeft;
    private bool _receivingIntoTensor;

    /// <summary>A frame the device thread expects: where its payload goes, and whether it arrived.</summary>
    public sealed class Slot
    {
        public required FrameType Type { get; init; }

        /// <summary>Payload bytes expected (any up to the control limit for headers).</summary>
        public int Length { get; init; }

        /// <summary>Where the payload lands; for a pooled slot, empty until the receiver takes a pooled buffer for it.</summary>
        public Memory<byte> Target { get; set; }

        /// <summary>The pooled buffer behind <see cref="Target"/>, while the slot holds one.</summary>
        public byte[]? PoolBuffer { get; set; }

        public bool Pooled { get; init; }

        /// <summary>True when <see cref="Target"/> is a tensor's memory rather than one of our arrays (see <see cref="Quiesce"/>).</summary>
        public bool InTensorMemory { get; init; }

        /// <summary>For a header: ours, which the previous process's must agree with.</summary>
        public OpHeader? Expected { get; init; }

        public bool Complete { get; set; }

        public Span<byte> Payload => Target.Span;
    }

    /// <summary>Starts an operation: checks the ring is up (waiting for it if needed) and forgets the previous operation's slots.</summary>
    public void BeginOperation(string operation)
    {
        WaitReady(operation);
        lock (_gate)
        {
            if (_receiveCursor != _slots.Count)
            {
                throw new InvalidOperationException($"{operation}: the previous collective of epoch {Epoch} did not consume all its frames");
            }
            _slots.Clear();
            _receiveCursor = 0;
        }
    }

    /// <summary>Expects the previous process's header, which must agree with <paramref name="expected"/>.</summary>
    public Slot PostHeader(OpHeader expected) => Post(new Slot { Type = FrameType.OpHeader, Length = -1, Expected = expected });

    /// <summary>Expects a data frame of exactly <paramref name="target"/>'s length, written straight into it.</summary>
    public Slot PostData(Memory<byte> target) =>
        Post(new Slot { Type = FrameType.Data, Length = target.Length, Target = target, InTensorMemory = !MemoryMarshal.TryGetArray<byte>(target, out _) });

    /// <summary>Expects a data frame of <paramref name="count"/> bytes into a pooled buffer; give it back with <see cref="Release"/>.</summary>
    public Slot PostPooled(int count)
    {
        if (count > MaxDataFrameBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"a pooled frame holds at most {MaxDataFrameBytes} bytes");
        }
        return Post(new Slot { Type = FrameType.Data, Length = count, Pooled = true });
    }

    /// <summary>Expects an empty token frame.</summary>
    public Slot PostToken() => Post(new Slot { Type = FrameType.Token, Length = 0 });

    private Slot Post(Slot slot)
    {
        lock (_gate)
        {
            _slots.Add(slot);
            if (_slots.Count == _receiveCursor + 1)
            {
                Monitor.PulseAll(_gate);
            }
        }
        return slot;
    }

    /// <summary>Returns a pooled slot's buffer for the receiver to reuse.</summary>
    public void Release(Slot slot)
    {
        if (slot.PoolBuffer is null)
        {
            return;
        }
        lock (_gate)
        {
            _pool.Push(slot.PoolBuffer);
            slot.PoolBuffer = null;
            slot.Target = Memory<byte>.Empty;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until <paramref name="slot"/> has arrived; throws the ring's failure, or fails it on time-out naming the previous process's ranks.</summary>
    public void Wait(Slot slot, string operation)
    {
        CollectiveFailure? failure = null;
        lock (_gate)
        {
            if (slot.Complete && _failure is null && _closeReason is null)
            {
                return;
            }
            long started = Stopwatch.GetTimestamp();
            // Once the previous process's header for this operation is in, it is not the one
            // missing: what we wait for is data it forwards from further up. Wait a grace longer,
            // so the member whose neighbour really is missing times out first and names it.
            bool prevArrived = _slots.Count > 0 && _slots[0].Complete && !ReferenceEquals(slot, _slots[0]);
            var waitFor = prevArrived ? DataTimeout + (DataTimeout - Timeout) : DataTimeout;
            var deadline = Deadline.After(_settings.Time, waitFor);
            try
            {
                while (true)
                {
                    if (EndedError(operation) is { } ended)
                    {
                        throw ended;
                    }
                    if (slot.Complete)
                    {
                        return;
                    }
                    if (_prevLeft)
                    {
                        failure = CollectiveFailure.Aborted(Origin, $"{Prev} left epoch {Epoch} before sending what this collective needs");
                        break;
                    }
                    var wait = deadline.WaitSlice;
                    if (wait <= TimeSpan.Zero)
                    {
                        failure = CollectiveFailure.TimedOut(Origin,
                            $"timed out after {waitFor.TotalSeconds:0.###} s waiting for data from {Prev}", Prev.GlobalRanks, waitFor);
                        break;
                    }
                    Monitor.Wait(_gate, wait);
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

    // Reads frames in wire order into the posted slots. After the ring ended it goes on reading
    // and discarding until the previous process's end of stream, so the socket is closed with
    // nothing unread (see Fail).
    private void ReceiveLoop(Socket socket)
    {
        var header = new byte[Wire.FrameHeaderBytes];
        var discard = new byte[64 << 10];
        try
        {
            while (true)
            {
                if (!Wire.ReceiveExactly(socket, header))
                {
                    OnEndOfStream(fromNext: false, detail: "closed");
                    return;
                }
                var (type, length) = Wire.ReadFrameHeader(header);
                if (type == FrameType.Abort)
                {
                    Fail(CollectiveFailure.Decode(Wire.ReceiveControlPayload(socket, length)));
                    continue;
                }
                if (type == FrameType.Bye)
                {
                    Wire.ReceiveControlPayload(socket, length);
                    lock (_gate)
                    {
                        _prevLeft = true;
                        Monitor.PulseAll(_gate);
                    }
                    continue;
                }
                var slot = NextSlot(type, length);
                if (slot is null)
                {
                    Discard(socket, length, discard);
                    continue;
                }
                if (type == FrameType.OpHeader)
                {
                    var theirs = OpHeader.Decode(Wire.ReceiveControlPayload(socket, length));
                    if (!slot.Expected!.Agrees(theirs))
                    {
                        // Checked here, in wire order, before any frame after the header is
                        // read: nothing derived from the previous process's data is forwarded
                        // by a member whose check failed.
                        Fail(CollectiveFailure.Mismatch(Origin, $"{Prev} issued {theirs}; {Self} issued {slot.Expected}"));
                        continue;
                    }
                }
                else
                {
                    try
                    {
                        Wire.ReceiveAll(socket, slot.Payload);
                    }
                    finally
                    {
                        lock (_gate)
                        {
                            _receivingIntoTensor = false;
                            Monitor.PulseAll(_gate);
                        }
                    }
                }
                lock (_gate)
                {
                    slot.Complete = true;
                    _receiveCursor++;
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or EndOfStreamException or InvalidDataException or IOException)
        {
            OnEndOfStream(fromNext: false, detail: $"lost ({e.Message})");
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static void Discard(Socket socket, int length, byte[] scratch)
    {
        if (length < 0)
        {
            throw new InvalidDataException($"frame of {length} bytes");
        }
        while (length > 0)
        {
            int n = Math.Min(length, scratch.Length);
            Wire.ReceiveAll(socket, scratch.AsSpan(0, n));
            length -= n;
        }
    }

    // The slot for an arriving frame, with a buffer to read it into; null when the ring ended (or
    // the frame is not what the device thread expects, which fails the ring).
    private Slot? NextSlot(FrameType type, int length)
    {
        string? problem = null;
        lock (_gate)
        {
            while (_receiveCursor >= _slots.Count && _failure is null && _closeReason is null)
            {
                Monitor.Wait(_gate);   // the previous process is ahead; its frames wait in the socket
            }
            if (_failure is not null || _closeReason is not null)
            {
                return null;
            }
            var slot = _slots[_receiveCursor];
            if (slot.Type != type)
            {
                problem = $"{Prev} sent a {type} frame where a {slot.Type} frame was expected";
            }
            else if (type == FrameType.OpHeader ? length > Wire.MaxControlBytes : length != slot.Length)
            {
                problem = $"{Prev} sent a {type} frame of {length} bytes where {slot.Length} were expected";
            }
            else
            {
                while (slot.Pooled && slot.PoolBuffer is null && _pool.Count == 0 && _failure is null && _closeReason is null)
                {
                    Monitor.Wait(_gate);   // every pooled buffer awaits reduction; TCP holds the rest back
                }
                if (_failure is not null || _closeReason is not null)
                {
                    return null;
                }
                if (slot.Pooled && slot.PoolBuffer is null)
                {
                    slot.PoolBuffer = _pool.Pop();
                    slot.Target = slot.PoolBuffer.AsMemory(0, slot.Length);
                }
                _receivingIntoTensor = slot.InTensorMemory;
                return slot;
            }
        }
        Fail(CollectiveFailure.Aborted(Origin, $"protocol error in epoch {Epoch}: {problem}"));
        return null;
    }
}
