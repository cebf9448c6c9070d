using System.Net.Sockets;

namespace GppfActors.Collectives;

// Forming the ring: the connector dials the next process (retrying until it listens and has
// joined the epoch); the node's listener hands the previous process's connection to OfferIncoming.
internal sealed partial class RingLinks
{
    /// <summary>
    /// Takes an incoming connection that announced itself with <paramref name="handshake"/> and
    /// answers it: accepted (the socket is ours from then on), refused with a reason (returned;
    /// the caller closes the socket), or, when this epoch has already failed here, refused with
    /// the failure itself, which the connecting process adopts.
    /// </summary>
    public string? OfferIncoming(Handshake handshake, Socket socket)
    {
        CollectiveFailure? failed;
        string? refusal = null;
        lock (_gate)
        {
            failed = _failure;
            if (failed is null && _closeReason is not null)
            {
                refusal = $"epoch {Epoch} has already ended in process '{Self.ProcessId}' ({_closeReason})";
            }
            else if (handshake.SpecFingerprint != _fingerprint)
            {
                refusal = $"the connecting process has a different group spec for epoch {Epoch} than process '{Self.ProcessId}'";
            }
            else if (handshake.FromRank != Prev.LeaderRank || handshake.FromProcessId != Prev.ProcessId || handshake.ToRank != Self.LeaderRank)
            {
                refusal = $"rank {handshake.FromRank} of process '{handshake.FromProcessId}' is not the ring predecessor of rank {handshake.ToRank} " +
                    $"in epoch {Epoch} (expected rank {Prev.LeaderRank} of '{Prev.ProcessId}' connecting to rank {Self.LeaderRank})";
            }
            else if (_in is not null)
            {
                refusal = $"rank {Self.LeaderRank} already has a connection from rank {Prev.LeaderRank} in epoch {Epoch}";
            }
        }
        if (refusal is not null)
        {
            return refusal;
        }
        if (failed is not null)
        {
            Wire.TrySendHandshakeFailure(socket, failed.Encode());
            return null;
        }
        try
        {
            Wire.SendHandshakeReply(socket, refusal: null);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            return null;
        }
        lock (_gate)
        {
            // Published even if the epoch failed meanwhile: the abort frame below (or Fail's)
            // then tells the previous process, and the receiver drains the link in good order.
            _in = socket;
            failed = _failure;
            Monitor.PulseAll(_gate);
        }
        StartThread(() => ReceiveLoop(socket), "receive");
        if (failed is not null)
        {
            TrySendReverse(socket, FrameType.Abort, failed.Encode());
            ShutdownSend(socket);
        }
        return null;
    }

    private void ConnectLoop()
    {
        var backoff = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            lock (_gate)
            {
                if (_failure is not null || _closeReason is not null)
                {
                    socket.Dispose();
                    return;
                }
                _connecting = socket;
            }
            bool introduced = false;
            string? refusal;
            byte[]? remoteFailure;
            try
            {
                // Synchronous on this dedicated thread: no thread-pool hop (which can take
                // hundreds of milliseconds while the pool is starved); a failure or close ends a
                // pending connect or wait by shutting the socket's reading side.
                socket.Connect(EndpointText.Resolve(Next.Endpoint));
                Wire.SendAll(socket, Wire.EncodeHandshake(new Handshake(Epoch, _fingerprint, Self.LeaderRank, Next.LeaderRank, Self.ProcessId)));
                introduced = true;
                // Blocks until the next process has joined this epoch (it parks us until then).
                (refusal, remoteFailure) = Wire.ReceiveHandshakeReply(socket);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or EndOfStreamException or IOException)
            {
                if (EndedWhileConnecting(socket, introduced))
                {
                    return;
                }
                lock (_gate)
                {
                    // Not listening yet, or it went away while we waited: try again until the
                    // epoch ends; a collective waiting for this link bounds the wait by its time-out.
                    Monitor.Wait(_gate, backoff);
                }
                backoff = TimeSpan.FromMilliseconds(Math.Min(200, backoff.TotalMilliseconds * 2));
                continue;
            }
            if (remoteFailure is not null)
            {
                socket.Dispose();
                Fail(CollectiveFailure.Decode(remoteFailure));
                return;
            }
            if (refusal is not null)
            {
                socket.Dispose();
                Fail(CollectiveFailure.Aborted(Origin, $"{Next} refused the connection: {refusal}"));
                return;
            }
            if (EndedWhileConnecting(socket, introduced, accepted: true))
            {
                return;
            }
            _sender = StartThread(() => SendLoop(socket), "send");
            StartThread(() => WatchLoop(socket), "watch");
            return;
        }
    }

    // After an attempt: publishes an accepted link, or, when the epoch ended meanwhile, tells the
    // next process how (it reads the frame once it takes the connection, even if it parked it)
    // and closes. True when the connector is done.
    private bool EndedWhileConnecting(Socket socket, bool introduced, bool accepted = false)
    {
        CollectiveFailure? failure;
        string? closeReason;
        lock (_gate)
        {
            _connecting = null;
            failure = _failure;
            closeReason = _closeReason;
            if (accepted && failure is null && closeReason is null)
            {
                _out = socket;
                Monitor.PulseAll(_gate);
                return false;
            }
        }
        if (introduced && (failure is not null || closeReason is not null))
        {
            try
            {
                socket.SendTimeout = (int)LastFrameSendLimit.TotalMilliseconds;
                Wire.SendFrame(socket, failure is null ? FrameType.Bye : FrameType.Abort, failure is null ? [] : failure.Encode());
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The next process is gone; it needs no word.
            }
        }
        socket.Dispose();
        return accepted || failure is not null || closeReason is not null;
    }
}
