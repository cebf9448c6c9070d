using System.Net;
using System.Net.Sockets;

namespace GppfActors.Collectives;

/// <summary>
/// This process's <see cref="ICollectiveGroupFactory"/>: owns one TCP listener and, per epoch, the
/// group the spec asks for. Every rank here: the in-process hub. Otherwise a hierarchical group:
/// the local ranks meet in-process, the lowest of them joins a TCP ring between processes.
/// </summary>
/// <remarks>
/// Connections: each process connects to the next one in the ring; the accepting side checks the
/// handshake (epoch, spec fingerprint, ranks) against the session of that epoch. A connection for
/// an older epoch than this process has joined or aborted is refused; one for a newer epoch is
/// held until this process joins it. Joining a newer epoch (or aborting one) releases older ones.
/// </remarks>
public sealed class CollectiveNode : ICollectiveGroupFactory
{
    private readonly object _gate = new();
    private readonly CollectiveNodeOptions _options;
    private readonly RingSettings _settings;
    private readonly Socket _listener;
    private readonly Thread _acceptThread;
    private readonly List<(Handshake Handshake, Socket Socket)> _parked = [];
    private EpochSession? _current;
    private long _newestEpoch = long.MinValue;
    private string? _newestAbortReason;
    private bool _disposed;

    /// <summary>Binds the listener and starts accepting; see <see cref="CollectiveNodeOptions"/>.</summary>
    public CollectiveNode(CollectiveNodeOptions? options = null)
    {
        _options = (options ?? new CollectiveNodeOptions()).Validate();
        _settings = new RingSettings(_options.SegmentBytes, _options.SmallBytes, _options.BucketBytes, _options.NumReceiveBuffers, _options.TimeProvider);
        var address = IPAddress.Parse(_options.BindAddress);
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(new IPEndPoint(address, _options.Port));
            _listener.Listen(128);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        int port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        Endpoint = EndpointText.Format(_options.AdvertisedHost ?? _options.BindAddress, port);
        ProcessId = _options.ProcessId ?? $"{Environment.MachineName}:{Environment.ProcessId}:{port}";
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "gppf-collective-accept" };
        _acceptThread.Start();
    }

    public string ProcessId { get; }

    public string Endpoint { get; }

    public long NewestEpoch
    {
        get
        {
            lock (_gate)
            {
                return _newestEpoch;
            }
        }
    }

    public ICollectiveGroup Join(GroupSpec spec, int rank)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (rank < 0 || rank >= spec.WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {spec.WorldSize})");
        }
        if (spec.Members[rank].ProcessId != ProcessId)
        {
            throw new ArgumentException($"rank {rank} of epoch {spec.Epoch} belongs to process '{spec.Members[rank].ProcessId}', not to this one ('{ProcessId}')");
        }
        var claimed = new List<(Handshake Handshake, Socket Socket)>();
        var stale = new List<(Handshake Handshake, Socket Socket)>();
        EpochSession session;
        EpochSession? superseded;
        ICollectiveGroup group;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (spec.Epoch < _newestEpoch)
            {
                throw new CollectiveAbortedException(spec.Epoch, "join",
                    $"epoch {spec.Epoch} is older than epoch {_newestEpoch}, which process '{ProcessId}' has already joined or aborted");
            }
            if (_current is { } current && current.Epoch == spec.Epoch)
            {
                if (!current.Spec.Equals(spec))
                {
                    throw new CollectiveMismatchException(spec.Epoch, "join", $"ranks of process '{ProcessId}' joined epoch {spec.Epoch} with different specs");
                }
                return current.Join(rank);
            }
            string? bornAborted = spec.Epoch == _newestEpoch ? _newestAbortReason : null;
            superseded = _current;
            session = new EpochSession(spec, ProcessId, _settings);
            _current = session;
            _newestEpoch = spec.Epoch;
            _newestAbortReason = null;
            TakeParked(e => e == spec.Epoch, claimed);
            TakeParked(e => e < spec.Epoch, stale);
            if (bornAborted is not null)
            {
                session.Abort(bornAborted);
            }
            else
            {
                session.Start();
            }
            group = session.Join(rank);
        }
        superseded?.Close($"epoch {superseded.Epoch} was superseded by epoch {spec.Epoch} in process '{ProcessId}'");
        foreach (var (handshake, socket) in claimed)
        {
            if (session.OfferIncoming(handshake, socket) is { } refusal)
            {
                Refuse(socket, refusal);
            }
        }
        foreach (var (handshake, socket) in stale)
        {
            Refuse(socket, StaleRefusal(handshake.Epoch, spec.Epoch));
        }
        return group;
    }

    public void Abort(long epoch, string reason)
    {
        EpochSession? aborted = null;
        EpochSession? superseded = null;
        var stale = new List<(Handshake Handshake, Socket Socket)>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            if (_current is { } current && current.Epoch == epoch)
            {
                aborted = current;
            }
            else if (epoch > _newestEpoch)
            {
                // Not joined here yet: the epoch is born aborted, and older ones are released.
                superseded = _current;
                _current = null;
                _newestEpoch = epoch;
                _newestAbortReason = reason;
                TakeParked(e => e <= epoch, stale);
            }
        }
        aborted?.Abort(reason);
        superseded?.Close($"epoch {superseded.Epoch} was superseded by epoch {epoch} (aborted: {reason}) in process '{ProcessId}'");
        foreach (var (handshake, socket) in stale)
        {
            Refuse(socket, handshake.Epoch == epoch ? $"epoch {epoch} was aborted in process '{ProcessId}': {reason}" : StaleRefusal(handshake.Epoch, epoch));
        }
    }

    public void Dispose()
    {
        EpochSession? current;
        var parked = new List<(Handshake Handshake, Socket Socket)>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            current = _current;
            _current = null;
            TakeParked(_ => true, parked);
        }
        _listener.Dispose();
        if (current is not null)
        {
            current.Close($"process '{ProcessId}' is shutting down its collectives");
            // Let the bye frames out before the process may exit, so peers finishing their last
            // collective are not cut off.
            current.WaitFlushed(TimeSpan.FromSeconds(1));
        }
        foreach (var (_, socket) in parked)
        {
            Refuse(socket, $"process '{ProcessId}' is shutting down its collectives");
        }
        _acceptThread.Join(TimeSpan.FromSeconds(1));
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                lock (_gate)
                {
                    if (_disposed)
                    {
                        return;
                    }
                }
                continue;
            }
            socket.NoDelay = true;
            // Reading the handshake may take a while; the next connection must not wait for it.
            // A thread of its own rather than the thread pool: connections are rare, and a pool
            // starved by blocking work would delay forming the ring by whole seconds.
            new Thread(() => Admit(socket)) { IsBackground = true, Name = "gppf-collective-admit" }.Start();
        }
    }

    private void Admit(Socket socket)
    {
        Handshake handshake;
        try
        {
            socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, _options.HandshakeTimeoutSeconds * 1000);
            handshake = Wire.ReceiveHandshake(socket);
            socket.ReceiveTimeout = 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or EndOfStreamException or InvalidDataException or IOException)
        {
            // Not one of ours (or too slow to say so): nothing to answer.
            socket.Dispose();
            return;
        }
        EpochSession? session = null;
        string? refusal = null;
        lock (_gate)
        {
            if (_disposed)
            {
                refusal = $"process '{ProcessId}' is shutting down its collectives";
            }
            else if (handshake.Epoch < _newestEpoch)
            {
                refusal = StaleRefusal(handshake.Epoch, _newestEpoch);
            }
            else if (handshake.Epoch == _newestEpoch)
            {
                session = _current;
                refusal = session is null ? $"epoch {handshake.Epoch} was aborted in process '{ProcessId}': {_newestAbortReason}" : null;
            }
            else if (_parked.Count < _options.MaxParkedConnections)
            {
                // A newer epoch than this process has joined: hold the connection until it does.
                _parked.Add((handshake, socket));
                return;
            }
            else
            {
                refusal = $"process '{ProcessId}' already holds {_parked.Count} connections for epochs it has not joined";
            }
        }
        if (session is not null)
        {
            refusal = session.OfferIncoming(handshake, socket);
        }
        if (refusal is not null)
        {
            Refuse(socket, refusal);
        }
    }

    private string StaleRefusal(long epoch, long newest) =>
        $"stale epoch {epoch}: process '{ProcessId}' has moved on to epoch {newest}";

    // Called with the lock held.
    private void TakeParked(Func<long, bool> which, List<(Handshake Handshake, Socket Socket)> into)
    {
        into.AddRange(_parked.Where(p => which(p.Handshake.Epoch)));
        _parked.RemoveAll(p => which(p.Handshake.Epoch));
    }

    private static void Refuse(Socket socket, string reason)
    {
        try
        {
            socket.SendTimeout = 1000;
            Wire.SendHandshakeReply(socket, reason);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The other side is gone; it needs no answer.
        }
        finally
        {
            socket.Dispose();
        }
    }
}
