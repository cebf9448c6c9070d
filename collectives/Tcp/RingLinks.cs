using System.Diagnostics;
using System.Net.Sockets;

namespace GppfActors.Collectives;

/// <summary>Tuning of the TCP ring, fixed per process (see <see cref="CollectiveNodeOptions"/>).</summary>
internal sealed record RingSettings(int SegmentBytes, int SmallBytes, int BucketBytes, int ReceiveBuffers, TimeProvider Time);

/// <summary>
/// One process's two connections in the ring between processes of one epoch: it connects to the
/// next process and is connected to by the previous one. Owned by the epoch's session; the
/// process's leading device thread drives it through <see cref="TcpCollectiveGroup"/>.
/// </summary>
/// <remarks>
/// Threads: a connector (until the outgoing link is up); a sender that writes queued frames to the
/// next process, so the device thread reduces one segment while the previous one is on the wire;
/// a receiver that reads frames from the previous process into the slots the device thread posted
/// (pooled buffers for segments to be reduced, the final place for segments to be kept); a watcher
/// that reads the reverse direction of the outgoing link, which carries only abort and bye frames.
/// The device thread never blocks in a socket call: it waits on this object's monitor with a
/// deadline on the monotonic clock, so an abort or a time-out wakes it at once.
/// Failure: the first failure is kept, the device thread's waits throw it, the session's in-process
/// members are woken, and it is sent to both neighbours in an abort frame, so it travels around the
/// ring both ways; each side then shuts down its sending half and reads to the end of stream before
/// closing (see Fail). A neighbour that dies shows up as an end of stream and fails the epoch
/// naming that neighbour. Ending in good order (Close) sends bye frames instead.
/// </remarks>
internal sealed partial class RingLinks
{
    // How long an ended ring waits for its peers to close their side before closing regardless.
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(3);

    // Bound on writing a last frame (abort, bye) to a peer that may not be reading.
    private static readonly TimeSpan LastFrameSendLimit = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly GroupSpec _spec;
    private readonly ulong _fingerprint;
    private readonly RingSettings _settings;
    private readonly Action<CollectiveFailure> _onFailed;
    private readonly object _reverseWriteGate = new();
    private CollectiveFailure? _failure;
    private string? _closeReason;
    private Socket? _out;
    private Socket? _in;
    private Socket? _connecting;
    private Thread? _sender;
    private Timer? _forceClose;
    private long _waitTicks;

    public RingLinks(GroupSpec spec, IReadOnlyList<RingPeer> peers, int self, RingSettings settings, Action<CollectiveFailure> onFailed)
    {
        _spec = spec;
        _fingerprint = spec.Fingerprint();
        _settings = settings;
        _onFailed = onFailed;
        Size = peers.Count;
        Self = peers[self];
        Next = peers[(self + 1) % Size];
        Prev = peers[(self - 1 + Size) % Size];
        _pool = new Stack<byte[]>(Enumerable.Range(0, settings.ReceiveBuffers).Select(_ => new byte[MaxDataFrameBytes]));
    }

    public long Epoch => _spec.Epoch;

    public int Size { get; }

    public RingPeer Self { get; }

    public RingPeer Next { get; }

    public RingPeer Prev { get; }

    public TimeSpan Timeout => _spec.Timeout;

    /// <summary>
    /// How long a wait for a peer's data (or for the wire to it) lasts: the time-out plus a grace
    /// of a quarter of it, at most a second. A peer that is itself waiting for one of its own
    /// ranks then times out first and names that rank, rather than this process naming all of the
    /// peer's. A dead peer is noticed at once through its closed connection, not by this wait.
    /// </summary>
    public TimeSpan DataTimeout => Timeout + TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, Timeout.Ticks / 4));

    public RingSettings Settings => _settings;

    // Integer segment splits can exceed the nominal segment size by one element.
    private int MaxDataFrameBytes => _settings.SegmentBytes + 16;

    /// <summary>The first failure, or null.</summary>
    public CollectiveFailure? Failure
    {
        get
        {
            lock (_gate)
            {
                return _failure;
            }
        }
    }

    /// <summary>True once failed or closed.</summary>
    public bool IsDone
    {
        get
        {
            lock (_gate)
            {
                return _failure is not null || _closeReason is not null;
            }
        }
    }

    /// <summary>Time the device thread has spent waiting for the ring (peers' data, connections, the wire).</summary>
    public TimeSpan WaitTime => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _waitTicks));

    private string Origin => Self.ToString();

    /// <summary>Starts connecting to the next process; the previous one connects to us through the node's listener.</summary>
    public void Start() => StartThread(ConnectLoop, "connect");

    /// <summary>Records the first failure, wakes every waiter, tells both neighbours and shuts the links down.</summary>
    /// <remarks>The neighbour a failure came from is told again too: it ignores a second failure, and skipping it would not save anything.</remarks>
    public void Fail(CollectiveFailure failure)
    {
        Socket? reverse;
        lock (_gate)
        {
            if (_failure is not null || _closeReason is not null)
            {
                return;
            }
            _failure = failure;
            reverse = _in;
            ShutdownReceive(_connecting);
            _forceClose = new Timer(_ => DisposeSockets(), null, DrainGrace, System.Threading.Timeout.InfiniteTimeSpan);
            Monitor.PulseAll(_gate);
        }
        _onFailed(failure);
        if (reverse is not null)
        {
            // The previous process reads this direction only for abort and bye frames (its
            // watcher), so the frame is not stuck behind data; its send buffer is empty.
            TrySendReverse(reverse, FrameType.Abort, failure.Encode());
            ShutdownSend(reverse);
        }
        // No socket is closed here. Closing one with unread bytes makes the kernel reset the
        // connection and drop what we sent last, the abort frame among it. Instead each side
        // shuts down its sending half after its last frame, the reader threads read and discard
        // until the peer's end of stream, and then close (the timer, should a peer hang).
    }

    /// <summary>
    /// Ends the epoch in good order: both neighbours get a bye frame after everything already
    /// sent, so a neighbour still finishing its last collective completes it; later collectives
    /// here throw <see cref="CollectiveAbortedException"/> with <paramref name="reason"/>.
    /// </summary>
    public void Close(string reason)
    {
        Socket? reverse;
        lock (_gate)
        {
            if (_failure is not null || _closeReason is not null)
            {
                return;
            }
            _closeReason = reason;
            reverse = _in;
            ShutdownReceive(_connecting);
            _forceClose = new Timer(_ => DisposeSockets(), null, DrainGrace, System.Threading.Timeout.InfiniteTimeSpan);
            Monitor.PulseAll(_gate);
        }
        if (reverse is not null)
        {
            TrySendReverse(reverse, FrameType.Bye, []);
            ShutdownSend(reverse);
        }
    }

    /// <summary>
    /// After a failed operation that sent from or received into a tensor's memory: returns only
    /// once neither the sender nor the receiver touches tensor memory any more, so the caller may
    /// free or change its tensors. A peer that reads and writes lets the segment in flight finish
    /// within milliseconds; otherwise, after a short wait, the links are shut down, which ends the
    /// blocked system call at once.
    /// </summary>
    public void Quiesce()
    {
        var deadline = Deadline.After(_settings.Time, TimeSpan.FromMilliseconds(250));
        bool shut = false;
        lock (_gate)
        {
            while (_sendingFromTensor || _receivingIntoTensor)
            {
                var slice = deadline.WaitSlice;
                if (slice <= TimeSpan.Zero && !shut)
                {
                    shut = true;
                    foreach (var socket in new[] { _out, _in })
                    {
                        try
                        {
                            socket?.Shutdown(SocketShutdown.Both);
                        }
                        catch (Exception e) when (e is SocketException or ObjectDisposedException)
                        {
                            // Already closed: its thread has returned or is about to.
                        }
                    }
                }
                Monitor.Wait(_gate, shut ? TimeSpan.FromMilliseconds(50) : slice);
            }
        }
    }

    /// <summary>Waits (bounded) until the sender has written its last frame, so a process that exits next does not cut it off.</summary>
    public void WaitFlushed(TimeSpan limit)
    {
        var sender = _sender;
        if (sender is not null && !sender.Join(limit))
        {
            DisposeSockets();
        }
    }

    private void TrySendReverse(Socket socket, FrameType type, byte[] payload)
    {
        try
        {
            lock (_reverseWriteGate)
            {
                socket.SendTimeout = (int)LastFrameSendLimit.TotalMilliseconds;
                Wire.SendFrame(socket, type, payload);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The neighbour is gone already; it learns nothing it does not know.
        }
    }

    // Wakes a connector blocked in connect or in waiting for the handshake answer without
    // resetting the connection: it then tells the next process how the epoch ended itself.
    private static void ShutdownReceive(Socket? socket)
    {
        try
        {
            socket?.Shutdown(SocketShutdown.Receive);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not connected yet (a pending connect fails by itself) or already closed.
        }
    }

    // Our last frame is out: end of stream for the peer after it; reading goes on (see Fail).
    private static void ShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing left to tell.
        }
    }

    private void DisposeSockets()
    {
        Socket?[] sockets;
        lock (_gate)
        {
            sockets = [_out, _in, _connecting];
        }
        foreach (var s in sockets)
        {
            s?.Dispose();
        }
    }

    private Thread StartThread(Action body, string role)
    {
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                // A bug here must not take the process down or leave peers hanging: fail the epoch.
                Fail(CollectiveFailure.Aborted(Origin, $"ring {role} thread failed: {e.GetType().Name}: {e.Message}"));
            }
        })
        {
            IsBackground = true,
            Name = $"gppf-ring-e{Epoch}-r{Self.LeaderRank}-{role}",
        };
        thread.Start();
        return thread;
    }

    // Called with the lock held: the exception the device thread throws, if the ring has ended.
    private CollectiveException? EndedError(string operation) =>
        _failure?.ToException(Epoch, operation) ??
        (_closeReason is null ? null : new CollectiveAbortedException(Epoch, operation, _closeReason));

    /// <summary>Waits until both links are up; throws the ring's failure, or fails it on time-out naming the ranks not connected.</summary>
    public void WaitReady(string operation)
    {
        CollectiveFailure? timedOut = null;
        lock (_gate)
        {
            if (_out is not null && _in is not null && _failure is null && _closeReason is null)
            {
                return;
            }
            long started = Stopwatch.GetTimestamp();
            var deadline = Deadline.After(_settings.Time, Timeout);
            try
            {
                while (true)
                {
                    if (EndedError(operation) is { } ended)
                    {
                        throw ended;
                    }
                    if (_out is not null && _in is not null)
                    {
                        return;
                    }
                    var slice = deadline.WaitSlice;
                    if (slice <= TimeSpan.Zero)
                    {
                        var missing = (_in is null ? Prev.GlobalRanks : []).Concat(_out is null ? Next.GlobalRanks : []).Distinct().Order().ToList();
                        var what = string.Join(" and ", new[] { _in is null ? $"no connection from {Prev}" : null, _out is null ? $"no connection to {Next}" : null }.OfType<string>());
                        timedOut = CollectiveFailure.TimedOut(Origin, $"timed out after {Timeout.TotalSeconds:0.###} s forming the ring: {what}", missing, Timeout);
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
        Fail(timedOut);
        throw Failure!.ToException(Epoch, operation);
    }
}
